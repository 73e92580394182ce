import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { JobProgressEvent } from "../../services/assignment.service";
import type { RequirementsData } from "../../services/requirements";
import type { GraphQLContext } from "../context";
import { JobStatus } from "../enums";
import { firstOf, LISTED } from "../list-bounds";
import { JobRequirementsInput, SubmitJobInput } from "../inputs/job.input";
import { toAssignment, toCheckpoint, toJob, toJobProgress } from "../mappers";
import { Assignment, Checkpoint, Job, JobConnection, JobProgressUpdate } from "../types/job.type";
import { JobOrderDraft } from "../types/order.type";

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

  @Mutation(() => JobOrderDraft, { description: "The order of a job for your wallet to sign before submitJob: checks the input as submitJob does and reserves your next order nonce; stores no job." })
  async prepareJobOrder(@Arg("input") input: SubmitJobInput, @Ctx() ctx: GraphQLContext): Promise<JobOrderDraft> {
    const draft = await ctx.services.jobOrders.prepare(ctx.principal, { ...input, requirements: requirementsData(input.requirements) });
    return { ...draft, maxCost: draft.maxCostWei };
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
    return firstOf(await ctx.loaders.assignmentsOfJob.load(job.id), LISTED.jobAssignments).map(toAssignment);
  }

  @FieldResolver(() => [Checkpoint], { description: `Whole checkpoints, by step (the last ${LISTED.checkpoints}).` })
  async checkpoints(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<Checkpoint[]> {
    return (await ctx.loaders.checkpointsOfJob.load(job.id)).slice(-LISTED.checkpoints).map(toCheckpoint);
  }

  @Subscription(() => JobProgressUpdate, {
    description: "Progress and status changes of a job of yours, from now on, in order.",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.jobs.progressStream((context as GraphQLContext).principal, String(args.jobId)),
  })
  jobProgress(@Root() event: JobProgressEvent, @Arg("jobId", () => ID) _jobId: string): JobProgressUpdate {
    return toJobProgress(event);
  }
}
