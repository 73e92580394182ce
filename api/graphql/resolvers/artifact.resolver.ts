import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { ArtifactRecord } from "../../db/repositories/artifact.repository";
import type { LogLineRecord } from "../../db/repositories/log.repository";
import { forbidden } from "../../services/errors";
import { DEFAULT_LOG_LINES_READ } from "../../services/log.service";
import type { GraphQLContext } from "../context";
import { CreateInputUploadInput, LogLineInput } from "../inputs/artifact.input";
import { BigIntScalar } from "../scalars";
import { AppendLogsResult, Artifact, AssignmentInput, InputUpload, JobInput, JobOutput, LogLine, LogStream, OutputUpload } from "../types/artifact.type";
import { Job, JobResult } from "../types/job.type";

function toArtifact(a: ArtifactRecord): Artifact {
  return { id: a.id, name: a.name, sizeBytes: a.sizeBytes, sha256: a.sha256, stored: a.storedAt !== null && a.purgedAt === null };
}

export function toLogLine(l: LogLineRecord): LogLine {
  return { seq: l.seq, assignmentId: l.assignmentId, stream: LogStream[l.stream], line: l.line, at: l.at };
}

/** A client's input files and a job's outputs and logs; the agent's uploads of outputs and logs. */
@Resolver()
export class ArtifactResolver {
  @Mutation(() => InputUpload, { description: "Reserves an input file; PUT its bytes to uploadUrl, then name it in submitJob's inputs." })
  async createInputUpload(@Arg("input") input: CreateInputUploadInput, @Ctx() ctx: GraphQLContext): Promise<InputUpload> {
    const { artifact, uploadUrl, expiresAt } = await ctx.services.artifacts.createInputUpload(ctx.principal, input);
    return { artifact: toArtifact(artifact), uploadUrl, expiresAt };
  }

  @Query(() => [AssignmentInput], { description: "An assignment of your node: its job's input files, with download URLs." })
  async assignmentInputs(@Arg("assignmentId", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AssignmentInput[]> {
    return (await ctx.services.artifacts.assignmentInputs(ctx.principal, id)).map((i) => ({ path: i.record.path, sizeBytes: i.record.artifact.sizeBytes, sha256: i.record.artifact.sha256, downloadUrl: i.url! }));
  }

  @Mutation(() => OutputUpload, { description: "Reserves an output file of running work; PUT its bytes to uploadUrl." })
  async createOutputUpload(
    @Arg("assignmentId", () => ID) id: string,
    @Arg("name") name: string,
    @Arg("sha256") sha256: string,
    @Arg("sizeBytes", () => BigIntScalar) sizeBytes: bigint,
    @Ctx() ctx: GraphQLContext,
  ): Promise<OutputUpload> {
    const { output, uploadUrl, directUploadUrl } = await ctx.services.artifacts.createOutputUpload(ctx.principal, id, name, sha256, sizeBytes);
    return { uploadUrl, directUploadUrl, output: { name: output.name, sizeBytes: output.sizeBytes, sha256: output.sha256, stored: output.storedAt !== null } };
  }

  @Mutation(() => AppendLogsResult, { description: "Lines of running work's output, in order (bounded per assignment)." })
  async appendLogs(@Arg("assignmentId", () => ID) id: string, @Arg("lines", () => [LogLineInput]) lines: LogLineInput[], @Ctx() ctx: GraphQLContext): Promise<AppendLogsResult> {
    return ctx.services.logs.append(ctx.principal, id, lines);
  }

  @Subscription(() => LogLine, {
    description: "A job of yours: its kept log lines after afterSeq (all when left out), then new ones as they come, each once, in order.",
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      await ctx.services.jobs.get(ctx.principal, String(args.jobId));
      return ctx.services.logs.follow(String(args.jobId), (args.afterSeq as bigint | null | undefined) ?? 0n);
    },
  })
  jobLogs(@Root() line: LogLineRecord, @Arg("jobId", () => ID) _jobId: string, @Arg("afterSeq", () => BigIntScalar, { nullable: true }) _afterSeq: bigint | null): LogLine {
    return toLogLine(line);
  }
}

/** A job's data as its owner reads it. */
@Resolver(() => Job)
export class JobDataResolver {
  @FieldResolver(() => [JobInput], { description: "Input files, each at GX_INPUT_DIR/<path>." })
  async inputs(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<JobInput[]> {
    return (await ctx.loaders.inputsOfJob.load(job.id)).map((i) => ({ artifactId: i.artifact.id, path: i.path, sizeBytes: i.artifact.sizeBytes, sha256: i.artifact.sha256 }));
  }

  @FieldResolver(() => [JobOutput], { description: "The winning replica's output files (download URLs for the owner, while they are kept)." })
  async outputs(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<JobOutput[]> {
    const outputs = await ctx.loaders.outputsOfJob.load(job.id);
    const linked = await ctx.services.artifacts.linkedOutputs(ctx.principal, { id: job.id, clientId: job.clientId, resultHash: job.result?.hash ?? null, endedAt: job.endedAt }, outputs);
    return linked.map((o) => ({ name: o.record.name, sizeBytes: o.record.sizeBytes, sha256: o.record.sha256, downloadUrl: o.url, expiresAt: o.expiresAt }));
  }

  @FieldResolver(() => JobResult, { nullable: true, description: "The agreed result: the sha256 of the outputs' manifest." })
  async result(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<JobResult | null> {
    if (!job.result) return null;
    const outputs = await ctx.loaders.outputsOfJob.load(job.id);
    const view = await ctx.services.artifacts.resultView(ctx.principal, { id: job.id, clientId: job.clientId, resultHash: job.result.hash, endedAt: job.endedAt }, outputs);
    return { ...job.result, ...view };
  }

  @FieldResolver(() => [LogLine], { description: "The last kept lines of the workload's output, oldest first (the job's owner only)." })
  async logs(@Root() job: Job, @Arg("last", () => Int, { defaultValue: DEFAULT_LOG_LINES_READ }) last: number, @Ctx() ctx: GraphQLContext): Promise<LogLine[]> {
    if (!(await ctx.services.artifacts.ownerSees(ctx.principal, { id: job.id, clientId: job.clientId, resultHash: null, endedAt: job.endedAt }))) throw forbidden("only the job's owner reads its logs");
    return (await ctx.services.logs.last(job.id, last)).map(toLogLine);
  }
}
