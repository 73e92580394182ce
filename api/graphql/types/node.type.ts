import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { DecimalScalar } from "../scalars";
import { NodeStatus } from "../enums";

@ObjectType({ simpleResolvers: true, description: "A group of identical GPUs on a node." })
export class GpuGroup {
  @Field({ description: "The model as registered, e.g. 'NVIDIA H100 80GB HBM3'." }) model!: string;
  @Field(() => Int) vramGb!: number;
  @Field(() => Int) count!: number;
  @Field(() => ID, { description: "The market these GPUs sell in, e.g. H100-80GB." }) market!: string;
}

@ObjectType({ simpleResolvers: true, description: "What a node's work earned its provider, OGPU, less the protocol fee; charges a challenge refunded to their client count nowhere." })
export class NodeEarnings {
  @Field(() => DecimalScalar, { description: "In batches the chain confirmed whose credits are claimable there (Escrow.claim)." }) settled!: bigint;
  @Field(() => DecimalScalar, { description: "Charged and not claimable yet: not in a confirmed batch, or in one still in the escrow's challenge window (inWindow)." }) pending!: bigint;
  @Field(() => DecimalScalar, { description: "The part of pending in confirmed batches still in the challenge window: claimable once it has passed, unless a challenge upholds." }) inWindow!: bigint;
}

@ObjectType({ simpleResolvers: true, description: "A provider's machine." })
export class Node {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() region!: string;
  @Field(() => NodeStatus) status!: NodeStatus;
  @Field(() => Date, { nullable: true }) lastHeartbeatAt!: Date | null;
  @Field(() => [GpuGroup]) gpus!: GpuGroup[];
  @Field(() => Int, { nullable: true }) cpuCores!: number | null;
  @Field(() => Int, { nullable: true }) ramGb!: number | null;
  @Field(() => String, { nullable: true }) agentVersion!: string | null;
  @Field(() => Float, { nullable: true, description: "Round trip measured by the agent, in ms; used over the region estimate." }) measuredLatencyMs!: number | null;
  @Field(() => Float, { nullable: true, description: "Mean GPU utilization in [0, 1] at the agent's last heartbeat that reported it." }) gpuUtilization!: number | null;
  @Field(() => Float, { nullable: true, description: "Mean GPU temperature in °C at the agent's last heartbeat that reported it." }) gpuTemperatureC!: number | null;
  @Field() createdAt!: Date;
  providerId!: string;
}

@ObjectType({ simpleResolvers: true })
export class HeartbeatPayload {
  @Field(() => ID) nodeId!: string;
  @Field(() => NodeStatus) status!: NodeStatus;
  @Field() serverTime!: Date;
}
