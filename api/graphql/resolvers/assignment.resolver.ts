import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { MAX_NODE_ASSIGNMENTS_LISTED, type AssignmentOfferedEvent } from "../../services/assignment.service";
import { notFound } from "../../services/errors";
import type { GraphQLContext } from "../context";
import { AssignmentStatus } from "../enums";
import { toAccount, toAssignment, toCheckpoint, toJob, toNode } from "../mappers";
import { BigIntScalar } from "../scalars";
import { Account } from "../types/account.type";
import { Assignment, CheckpointUpload, Job, ResumePoint } from "../types/job.type";
import { Node } from "../types/node.type";
import { maySeeJobOfAssignment, maySeeResumePoint } from "../../services/visibility";

async function reload(ctx: GraphQLContext, id: string): Promise<Assignment> {
  const [row] = await ctx.services.assignments.byIds([id]);
  if (!row) throw notFound("assignment", id);
  return toAssignment(row);
}

/** What a provider's agent does with its node's assignments. */
@Resolver(() => Assignment)
export class AssignmentResolver {
  @Query(() => [Assignment], { description: `A node of yours: its first \`first\` assignments, oldest first (1 to ${MAX_NODE_ASSIGNMENTS_LISTED}, default ${MAX_NODE_ASSIGNMENTS_LISTED}).` })
  async assignments(
    @Arg("nodeId", () => ID) nodeId: string,
    @Arg("status", () => AssignmentStatus, { nullable: true }) status: AssignmentStatus | null,
    @Arg("first", () => Int, { defaultValue: MAX_NODE_ASSIGNMENTS_LISTED }) first: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Assignment[]> {
    return (await ctx.services.assignments.forNode(ctx.principal, nodeId, status ?? undefined, first)).map(toAssignment);
  }

  @Mutation(() => Assignment, { description: "ASSIGNED -> RUNNING; the lease starts." })
  async startAssignment(@Arg("assignmentId", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Assignment> {
    await ctx.services.assignments.start(ctx.principal, id);
    return reload(ctx, id);
  }

  @Mutation(() => Assignment, { description: "Progress in [0, 1]; renews the lease. CONFLICT once the work was taken over." })
  async reportProgress(
    @Arg("assignmentId", () => ID) id: string,
    @Arg("progress", () => Float) progress: number,
    @Arg("message", () => String, { nullable: true }) message: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Assignment> {
    await ctx.services.assignments.progress(ctx.principal, id, progress, message);
    return reload(ctx, id);
  }

  @Mutation(() => CheckpointUpload, { description: "Reserves a checkpoint and says where to PUT its bytes; it counts once size and sha256 match." })
  async createCheckpointUpload(
    @Arg("assignmentId", () => ID) id: string,
    @Arg("step", () => Int) step: number,
    @Arg("sha256") sha256: string,
    @Arg("sizeBytes", () => BigIntScalar) sizeBytes: bigint,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CheckpointUpload> {
    const { checkpoint, uploadUrl, directUploadUrl } = await ctx.services.assignments.createCheckpointUpload(ctx.principal, id, step, sha256, sizeBytes);
    return { uploadUrl, directUploadUrl, checkpoint: toCheckpoint(checkpoint) };
  }

  @Mutation(() => Assignment, { description: "Completes running work with the sha256 of its result; the same hash again changes nothing." })
  async completeAssignment(
    @Arg("assignmentId", () => ID) id: string,
    @Arg("resultHash") resultHash: string,
    @Arg("resultUri", () => String, { nullable: true }) resultUri: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Assignment> {
    await ctx.services.assignments.complete(ctx.principal, id, resultHash, resultUri);
    return reload(ctx, id);
  }

  @Mutation(() => Assignment, { description: "Gives the work up; the job is matched again elsewhere (bounded attempts)." })
  async failAssignment(@Arg("assignmentId", () => ID) id: string, @Arg("reason") reason: string, @Ctx() ctx: GraphQLContext): Promise<Assignment> {
    await ctx.services.assignments.fail(ctx.principal, id, reason);
    return reload(ctx, id);
  }

  @Subscription(() => Assignment, {
    description: "New assignments of a node of yours, as they are made (poll `assignments` too: this is a hint).",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.assignments.offeredStream((context as GraphQLContext).principal, String(args.nodeId)),
  })
  async assignmentOffered(@Root() event: AssignmentOfferedEvent, @Arg("nodeId", () => ID) _nodeId: string, @Ctx() ctx: GraphQLContext): Promise<Assignment> {
    return reload(ctx, event.assignmentId);
  }

  @FieldResolver(() => Job, { nullable: true, description: "The job: for its owner and for the provider running this assignment; null for others." })
  async job(@Root() assignment: Assignment, @Ctx() ctx: GraphQLContext): Promise<Job | null> {
    const job = await ctx.loaders.job.load(assignment.jobId);
    return job && maySeeJobOfAssignment(ctx.principal, job, assignment) ? toJob(job) : null;
  }

  @FieldResolver(() => ResumePoint, { nullable: true, description: "For the provider: the checkpoint this attempt resumes from." })
  async resumeFrom(@Root() assignment: Assignment, @Ctx() ctx: GraphQLContext): Promise<ResumePoint | null> {
    if (!maySeeResumePoint(ctx.principal, assignment)) return null;
    const point = await ctx.services.assignments.resumePoint(assignment);
    return point ? { step: point.checkpoint.step, sha256: point.checkpoint.sha256, downloadUrl: point.downloadUrl } : null;
  }

  @FieldResolver(() => Node)
  async node(@Root() assignment: Assignment, @Ctx() ctx: GraphQLContext): Promise<Node> {
    const node = await ctx.loaders.node.load(assignment.nodeId);
    if (!node) throw notFound("node", assignment.nodeId);
    return toNode(node, ctx.services.nodes.statusOf(node));
  }

  @FieldResolver(() => Account)
  async provider(@Root() assignment: Assignment, @Ctx() ctx: GraphQLContext): Promise<Account> {
    const account = await ctx.loaders.account.load(assignment.providerId);
    if (!account) throw notFound("account", assignment.providerId);
    return toAccount(account.address, account.id, account.reputation);
  }
}
