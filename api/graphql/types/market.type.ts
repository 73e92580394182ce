import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { BigIntScalar, DecimalScalar } from "../scalars";

@ObjectType({ simpleResolvers: true, description: "All orders at one price, summed." })
export class PriceLevel {
  @Field(() => DecimalScalar, { description: "OGPU per GPU-hour." }) price!: bigint;
  @Field(() => Int) gpus!: number;
  @Field(() => Int) orders!: number;
}

@ObjectType({ simpleResolvers: true })
export class OrderBook {
  @Field(() => ID) market!: string;
  @Field(() => BigIntScalar, { description: "The market's sequence at this snapshot: +1 for every change of its book." }) sequence!: bigint;
  @Field(() => [PriceLevel], { description: "Offers, cheapest first." }) asks!: PriceLevel[];
  @Field(() => [PriceLevel], { description: "Resting jobs, highest cap first." }) bids!: PriceLevel[];
}

@ObjectType({ simpleResolvers: true, description: "One GPU model with its memory, e.g. H100-80GB." })
export class Market {
  @Field(() => ID) id!: string;
  @Field() gpuModel!: string;
  @Field(() => Int) vramGb!: number;
  @Field(() => DecimalScalar, { nullable: true }) bestAsk!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true, description: "Null until jobs rest on the book." }) bestBid!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true, description: "Null until trades exist." }) lastPrice!: bigint | null;
  @Field(() => Int, { nullable: true, description: "GPUs matched in 24 h; null until trades exist." }) volume24h!: number | null;
  @Field(() => Int) openOffers!: number;
  @Field(() => Int) availableGpus!: number;
  @Field(() => Float, { description: "GPUs in use / GPUs offered, in [0, 1]." }) utilization!: number;
  @Field(() => DecimalScalar, { nullable: true, description: "Null until dynamic pricing is released." }) suggestedPrice!: bigint | null;
  @Field(() => BigIntScalar) sequence!: bigint;
}
