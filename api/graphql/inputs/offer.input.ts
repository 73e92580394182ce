import { Field, ID, InputType, Int } from "type-graphql";
import { DecimalScalar } from "../scalars";
import { OfferStatus } from "../enums";

/** minDurationSeconds, described once for offers and their inputs. */
export const MIN_DURATION = "The least a trade on this offer is billed, in seconds; jobs whose maxDurationSeconds is shorter do not match it. A change applies to later trades.";

@InputType()
export class PostOfferInput {
  @Field(() => ID) nodeId!: string;
  @Field(() => String, { nullable: true, description: "Chooses the node's GPU group when it has more than one: a model (H100) or a market (H100-80GB)." })
  gpuModel?: string | null;
  @Field(() => DecimalScalar, { description: "OGPU per GPU-hour, more than 0." }) pricePerGpuHour!: bigint;
  @Field(() => Int) gpuCount!: number;
  @Field(() => Int, { nullable: true, description: MIN_DURATION }) minDurationSeconds?: number | null;
  @Field(() => Date, { nullable: true }) expiresAt?: Date | null;
  @Field(() => String, { nullable: true, description: "Your own id for the offer (1 to 64 printable characters), unique among your open offers: a second open offer with it is CONFLICT." })
  clientOrderId?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Post-only (maker only): refused (CONFLICT) if a resting job would match it at once; it then only waits for new jobs." })
  postOnly?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: "Cancel on disconnect: while the node's heartbeats stop (past the heartbeat window) the offer is off the book; it comes back when they resume. Agents set it." })
  cancelOnDisconnect?: boolean | null;
}

@InputType()
export class UpdateOfferInput {
  @Field(() => DecimalScalar, { nullable: true }) pricePerGpuHour?: bigint | null;
  @Field(() => Int, { nullable: true }) gpuCount?: number | null;
  @Field(() => Int, { nullable: true, description: MIN_DURATION }) minDurationSeconds?: number | null;
  @Field(() => Date, { nullable: true }) expiresAt?: Date | null;
}

@InputType()
export class OfferFilter {
  @Field(() => ID, { nullable: true }) market?: string | null;
  @Field(() => Int, { nullable: true }) minVramGb?: number | null;
  @Field(() => DecimalScalar, { nullable: true }) maxPricePerGpuHour?: bigint | null;
  @Field(() => String, { nullable: true }) region?: string | null;
  @Field(() => OfferStatus, { nullable: true, description: "OPEN when left out." }) status?: OfferStatus | null;
}
