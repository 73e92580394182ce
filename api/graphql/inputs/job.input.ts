import { Field, Float, ID, InputType, Int } from "type-graphql";
import { JobKind, MatchStrategy, TimeInForce } from "../enums";
import { DecimalScalar } from "../scalars";
import { JobInputInput } from "./artifact.input";

@InputType({ description: "Explicit weights (normalized to sum 1); they win over the strategy." })
export class MatchWeightsInput {
  @Field(() => Float, { nullable: true }) price?: number | null;
  @Field(() => Float, { nullable: true }) latency?: number | null;
  @Field(() => Float, { nullable: true }) vram?: number | null;
  @Field(() => Float, { nullable: true }) reputation?: number | null;
}

@InputType()
export class JobRequirementsInput {
  @Field(() => Int, { description: "GPUs on one node, per replica." }) gpuCount!: number;
  @Field(() => Int) minVramGb!: number;
  @Field(() => [String], { nullable: true, description: "Models such as H100 or RTX4090; any when left out." }) gpuModels?: string[] | null;
  @Field(() => String, { nullable: true, description: "Where the job's users are: a region id." }) region?: string | null;
  @Field(() => Int, { nullable: true, description: "Bound on the latency estimate from region (or the node's measured figure)." }) maxLatencyMs?: number | null;
  @Field(() => Float, { nullable: true, description: "In [0, 1]." }) minReputation?: number | null;
  @Field(() => DecimalScalar, { nullable: true, description: "The cap, OGPU per GPU-hour: required by submitJob, optional in a quote." }) maxPricePerGpuHour?: bigint | null;
  @Field(() => Int) maxDurationSeconds!: number;
  @Field(() => Int, { nullable: true, defaultValue: 1, description: "Replicas on distinct providers whose results are compared." }) redundancy?: number | null;
  @Field(() => MatchStrategy, { nullable: true, description: "BALANCED when left out." }) strategy?: MatchStrategy | null;
  @Field(() => MatchWeightsInput, { nullable: true }) weights?: MatchWeightsInput | null;
}

@InputType()
export class EnvVarInput {
  @Field() name!: string;
  @Field() value!: string;
  @Field(() => Boolean, { nullable: true, description: "Masked in the job's logs." }) secret?: boolean | null;
}

@InputType({ description: "A job's order signed by the client's wallet: what prepareJobOrder returned, with the signature of its typedData." })
export class SignedOrderInput {
  @Field(() => ID) jobId!: string;
  @Field({ description: "Decimal, as prepareJobOrder returned it." }) nonce!: string;
  @Field({ description: "Unix seconds, decimal, as prepareJobOrder returned it." }) expiry!: string;
  @Field({ description: "eth_signTypedData_v4 of typedData: 0x and 130 hex digits." }) signature!: string;
}

@InputType()
export class SubmitJobInput {
  @Field(() => JobKind) kind!: JobKind;
  @Field(() => ID, { nullable: true }) sourceId?: string | null;
  @Field(() => String, { nullable: true }) image?: string | null;
  @Field(() => [String], { nullable: true, description: "argv, run without a shell." }) command?: string[] | null;
  @Field(() => [EnvVarInput], { nullable: true }) env?: EnvVarInput[] | null;
  @Field(() => String, { nullable: true }) inputUri?: string | null;
  @Field(() => [JobInputInput], { nullable: true, description: "Input files you uploaded (createInputUpload), each at GX_INPUT_DIR/<path>." }) inputs?: JobInputInput[] | null;
  @Field(() => JobRequirementsInput) requirements!: JobRequirementsInput;
  @Field(() => Int, { nullable: true }) checkpointIntervalSeconds?: number | null;
  @Field(() => String, { nullable: true, description: "The same key from the same account returns the first job; with other input it is CONFLICT." })
  idempotencyKey?: string | null;
  @Field(() => String, { nullable: true, description: "Your own id for this job (1 to 64 printable characters), unique among your live jobs: a second live job with it is CONFLICT." })
  clientOrderId?: string | null;
  @Field(() => TimeInForce, { nullable: true, description: "GTC (default): rests on the book until matched or cancelled. IOC: cancelled at once, hold released, when its first placement finds no offer." })
  timeInForce?: TimeInForce | null;
  @Field(() => SignedOrderInput, { nullable: true, description: "Your wallet's signed order for this job (prepareJobOrder): on a chain with a challenge window, what lets you challenge any charge above it." })
  order?: SignedOrderInput | null;
}
