import { Field, Float, InputType, Int } from "type-graphql";

@InputType()
export class GpuInput {
  @Field({ description: "As the driver reports it ('NVIDIA H100 80GB HBM3') or short ('H100')." }) model!: string;
  @Field(() => Int) vramGb!: number;
  @Field(() => Int) count!: number;
}

@InputType()
export class RegisterNodeInput {
  @Field({ description: "Unique per provider; registering a name again updates that node." }) name!: string;
  @Field({ description: "A region id from the regions query." }) region!: string;
  @Field(() => [GpuInput]) gpus!: GpuInput[];
  @Field(() => Int, { nullable: true }) cpuCores?: number | null;
  @Field(() => Int, { nullable: true }) ramGb?: number | null;
  @Field(() => String, { nullable: true }) agentVersion?: string | null;
}

@InputType()
export class NodeMetricsInput {
  @Field(() => Float, { nullable: true, description: "In [0, 1]." }) gpuUtilization?: number | null;
  @Field(() => Float, { nullable: true }) gpuTemperatureC?: number | null;
  @Field(() => Float, { nullable: true }) measuredLatencyMs?: number | null;
}
