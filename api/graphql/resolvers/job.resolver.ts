import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { notFound } from "../../services/errors";
import type { RequirementsData } from "../../services/requirements";
import type { GraphQLContext } from "../context";
import { JobStatus } from "../enums";
import { JobRequirementsInput, SubmitJobInput } from "../inputs/job.input";
import { toAccount, toAssignment, toJob, toNode } from "../mappers";
import { Account } from "../types/account.type";
import { Assignment, Job, JobConnection } from "../types/job.type";
import { Node } from "../types/node.type";

/** Requirements input as the services take them (the cap in wei). */
export function requirementsData(input: JobRequirementsInput): RequirementsData {
  return { ...input, maxPriceWei: input.maxPricePerGpuHour ?? null };
}

@Resolver(() => Job)
export class JobResolver {
  @Mutation(() => Job, { description: "Holds the maximum cost in escrow and queues the job for matching; it rests on the bid side until an offer crosses it." })
  async submitJob(@Arg("input") input: SubmitJobInput, @Ctx() ctx: GraphQLContext): Promise<Job> {
    return toJob(await ctx.services.jobs.submit(ctx.principal, { ...input, requirements: requirementsData(input.requirements) }));
  }

  @Mutation(() => Job, { description: "Cancels a PENDING or MATCHED job of yours and releases its hold." })
  async cancelJob(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Job> {
    return toJob(await ctx.services.jobs.cancel(ctx.principal, id));
  }

  @Query(() => Job, { description: "A job of yours." })
  async job(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Job> {
    return toJob(await ctx.services.jobs.get(ctx.principal, id));
  }

  @Query(() => JobConnection, { description: "Your jobs, newest first." })
  async myJobs(
    @Arg("status", () => JobStatus, { nullable: true }) status: JobStatus | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<JobConnection> {
    const page = await ctx.services.jobs.mine(ctx.principal, status ?? undefined, first, after);
    return {
      edges: page.jobs.map((j, i) => ({ cursor: page.cursors[i], node: toJob(j) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @FieldResolver(() => [Assignment])
  async assignments(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<Assignment[]> {
    return (await ctx.loaders.assignmentsOfJob.load(job.id)).map(toAssignment);
  }
}

@Resolver(() => Assignment)
export class AssignmentResolver {
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
    return toAccount(account.address, account.id);
  }
}
