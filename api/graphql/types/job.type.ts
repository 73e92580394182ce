import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { AssignmentStatus, ExclusionReason, JobKind, JobStatus, MatchStrategy, TimeInForce } from "../enums";
import { BigIntScalar, DecimalScalar } from "../scalars";
import { PageInfo } from "./offer.type";

@ObjectType({ simpleResolvers: true, description: "Offers passed over for one reason, e.g. { VRAM, \"12 offers below 24 GB VRAM\", 12 }." })
export class Exclusion {
  @Field(() => ExclusionReason) reason!: ExclusionReason;
  @Field() message!: string;
  @Field(() => Int) offers!: number;
}

@ObjectType({ simpleResolvers: true })
export class JobRequirements {
  @Field(() => Int) gpuCount!: number;
  @Field(() => Int) minVramGb!: number;
  @Field(() => [String], { nullable: true }) gpuModels!: string[] | null;
  @Field(() => String, { nullable: true }) region!: string | null;
  @Field(() => Int, { nullable: true }) maxLatencyMs!: number | null;
  @Field(() => Float, { nullable: true }) minReputation!: number | null;
  @Field(() => DecimalScalar) maxPricePerGpuHour!: bigint;
  @Field(() => Int) maxDurationSeconds!: number;
  @Field(() => Int) redundancy!: number;
  @Field(() => MatchStrategy) strategy!: MatchStrategy;
}

@ObjectType({ simpleResolvers: true, description: "One replica of a job placed on one node (a new attempt after a failover)." })
export class Assignment {
  @Field(() => ID) id!: string;
  @Field(() => AssignmentStatus) status!: AssignmentStatus;
  @Field(() => Int, { description: "1 for the first placement of this replica, +1 for each takeover." }) attempt!: number;
  @Field(() => Int, { description: "Which replica (0-based) of a redundant job." }) replica!: number;
  @Field(() => Int) gpus!: number;
  @Field(() => DecimalScalar, { description: "The trade price: the offer's ask, OGPU per GPU-hour." }) pricePerGpuHour!: bigint;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) endedAt!: Date | null;
  @Field(() => String, { nullable: true }) resultHash!: string | null;
  @Field(() => Int, { nullable: true, description: "The checkpoint step this attempt resumed from." }) resumedFromStep!: number | null;
  @Field(() => Date, { nullable: true, description: "Until when the work is held without progress or heartbeats (then it is taken over)." }) leaseExpiresAt!: Date | null;
  @Field(() => Float) progress!: number;
  @Field(() => String, { nullable: true }) failReason!: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: "What this replica earned: trade price x GPUs x run seconds / 3600, once accepted." }) cost!: bigint | null;
  @Field() createdAt!: Date;
  nodeId!: string;
  providerId!: string;
  offerId!: string;
  jobId!: string;
}

@ObjectType({ simpleResolvers: true })
export class EnvVar {
  @Field() name!: string;
  @Field() value!: string;
  @Field({ description: "Masked in the job's logs." }) secret!: boolean;
}

@ObjectType({ simpleResolvers: true, description: "Where a new attempt resumes: the replica's last whole checkpoint." })
export class ResumePoint {
  @Field(() => Int) step!: number;
  @Field() sha256!: string;
  @Field({ description: "A short-lived signed URL; GET returns the bytes." }) downloadUrl!: string;
}

@ObjectType({ simpleResolvers: true })
export class Checkpoint {
  @Field(() => Int) step!: number;
  @Field() sha256!: string;
  @Field(() => BigIntScalar) sizeBytes!: bigint;
  @Field() createdAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class CheckpointUpload {
  @Field({ description: "PUT the bytes here (short-lived, signed); the checkpoint counts once size and sha256 match." }) uploadUrl!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "Where the store takes the bytes itself (S3 with direct uploads): PUT them here, then PUT uploadUrl with `Content-Range: bytes */<size>` and no body, which counts them (201). Null: use uploadUrl.",
  })
  directUploadUrl!: string | null;
  @Field(() => Checkpoint) checkpoint!: Checkpoint;
}

@ObjectType({ simpleResolvers: true, description: "A job's progress or status change." })
export class JobProgressUpdate {
  @Field(() => ID) jobId!: string;
  @Field(() => JobStatus) status!: JobStatus;
  @Field(() => Float) progress!: number;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => ID, { nullable: true }) assignmentId!: string | null;
  @Field() at!: Date;
}

@ObjectType({ simpleResolvers: true })
export class JobResult {
  @Field() hash!: string;
  @Field(() => String, { nullable: true }) uri!: string | null;
  @Field(() => Int, { description: "How many providers returned the winning hash." }) agreedBy!: number;
  @Field(() => BigIntScalar, { nullable: true, description: "The outputs' total size (null for a result without uploaded outputs)." }) sizeBytes!: bigint | null;
  @Field(() => String, { nullable: true, description: "For the job's owner: GET the outputs' manifest (text; its sha256 is hash), signed and short-lived." }) downloadUrl!: string | null;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: "The job's line in a settlement batch." })
export class JobSettlement {
  @Field(() => BigIntScalar) batchId!: bigint;
  @Field(() => String, { nullable: true }) txHash!: string | null;
  @Field(() => Date, { nullable: true }) settledAt!: Date | null;
  @Field(() => DecimalScalar) amount!: bigint;
}

@ObjectType({ simpleResolvers: true, description: "A workload: PENDING on the bid side until matched, then run on its assignments." })
export class Job {
  @Field(() => ID) id!: string;
  @Field(() => JobStatus) status!: JobStatus;
  @Field(() => JobKind) kind!: JobKind;
  @Field(() => Float, { description: "In [0, 1]." }) progress!: number;
  @Field(() => String, { nullable: true }) statusMessage!: string | null;
  @Field(() => [Exclusion], { nullable: true, description: "While PENDING: what keeps it from matching, by reason." }) excluded!: Exclusion[] | null;
  @Field(() => DecimalScalar, { nullable: true, description: "What the job cost, once known." }) cost!: bigint | null;
  @Field(() => DecimalScalar, { description: "Escrow held at submit: maxPricePerGpuHour x gpuCount x maxDurationSeconds / 3600 x redundancy." }) hold!: bigint;
  @Field(() => DecimalScalar) maxPricePerGpuHour!: bigint;
  @Field(() => Int) maxDurationSeconds!: number;
  @Field(() => Int) redundancy!: number;
  @Field(() => JobRequirements) requirements!: JobRequirements;
  @Field(() => String, { nullable: true }) image!: string | null;
  @Field(() => [String], { nullable: true }) command!: string[] | null;
  @Field(() => [EnvVar], { nullable: true, description: "Visible to the job's owner and to the providers running it." }) env!: EnvVar[] | null;
  @Field(() => String, { nullable: true }) inputUri!: string | null;
  @Field(() => Int, { nullable: true }) checkpointIntervalSeconds!: number | null;
  @Field(() => JobResult, { nullable: true, description: "The accepted result, once the job completed." }) result!: JobResult | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => Date, { nullable: true }) matchedAt!: Date | null;
  @Field(() => Date, { nullable: true }) endedAt!: Date | null;
  @Field(() => String, { nullable: true, description: "Your own id for the job, as submitted." }) clientOrderId!: string | null;
  @Field(() => TimeInForce) timeInForce!: TimeInForce;
  clientId!: string;
}

@ObjectType({ simpleResolvers: true })
export class JobEdge {
  @Field() cursor!: string;
  @Field(() => Job) node!: Job;
}

@ObjectType({ simpleResolvers: true })
export class JobConnection {
  @Field(() => [JobEdge]) edges!: JobEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
