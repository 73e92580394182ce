import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { OrderSide } from "../enums";
import { BigIntScalar, DecimalScalar } from "../scalars";
import { Exclusion } from "./job.type";
import { PageInfo } from "./offer.type";

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
  @Field(() => DecimalScalar, { nullable: true, description: "The highest cap of jobs resting on this market's bid side." }) bestBid!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true, description: "The latest trade's price, whoever traded; null before the first trade." }) lastPrice!: bigint | null;
  @Field(() => Int, { description: "GPUs matched in the last 24 hours, whoever traded." }) volume24h!: number;
  @Field(() => Int) openOffers!: number;
  @Field(() => Int) availableGpus!: number;
  @Field(() => Float, { description: "GPUs in use / GPUs offered, in [0, 1]." }) utilization!: number;
  @Field(() => DecimalScalar, {
    nullable: true,
    description:
      "Robust reference price: the last 24 h of trades between unrelated accounts (not the same account, no shared wallet or payout address), each weighing GPUs x 0.5^(age / 1 h), no client, provider or pair of them above 20% of the weight (below 5 pairs: one equal vote per pair), prices clipped to +-10% of the weighted median, then volume-weighted. Else the latest such trade, else the best ask. Null with none.",
  })
  referencePrice!: bigint | null;
  @Field(() => Float, {
    description:
      "Demand of the resting bids as the suggested price counts it, in GPUs: per bid min(GPUs, escrow held / (reference x 1 h)) x clamp((time on the book since submission or its last run - 1 min) / 9 min, 0, 1).",
  })
  demandGpus!: number;
  @Field(() => DecimalScalar, {
    nullable: true,
    description:
      "Suggested ask: referencePrice x clamp(1 + 0.5 x (utilization - 0.7) + 0.25 x imbalance, 0.5, 2), imbalance = (demandGpus - availableGpus) / (demandGpus + availableGpus), 0 when both are 0. Null with no reference.",
  })
  suggestedPrice!: bigint | null;
  @Field(() => BigIntScalar) sequence!: bigint;
}

@ObjectType({ simpleResolvers: true, description: "A match: GPUs of an offer bought by a job at the offer's ask." })
export class Trade {
  @Field(() => ID) id!: string;
  @Field(() => ID) market!: string;
  @Field(() => DecimalScalar, { description: "OGPU per GPU-hour: the offer's ask." }) price!: bigint;
  @Field(() => Int) gpus!: number;
  @Field() executedAt!: Date;
  jobId!: string;
  clientId!: string;
}

@ObjectType({ simpleResolvers: true })
export class TradeEdge {
  @Field() cursor!: string;
  @Field(() => Trade) node!: Trade;
}

@ObjectType({ simpleResolvers: true })
export class TradeConnection {
  @Field(() => [TradeEdge]) edges!: TradeEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: "Trades of one interval between unrelated accounts (as for referencePrice): from its openTime (inclusive) to the next (exclusive)." })
export class Candle {
  @Field() openTime!: Date;
  @Field(() => DecimalScalar) open!: bigint;
  @Field(() => DecimalScalar) high!: bigint;
  @Field(() => DecimalScalar) low!: bigint;
  @Field(() => DecimalScalar) close!: bigint;
  @Field(() => Int, { description: "GPUs matched." }) volume!: number;
  @Field(() => Int) trades!: number;
}

@ObjectType({ simpleResolvers: true, description: "What requirements would get now." })
export class Quote {
  @Field(() => Int) matchingOffers!: number;
  @Field(() => DecimalScalar, { nullable: true }) bestPricePerGpuHour!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true, description: "At the chosen offers' asks for maxDurationSeconds, all replicas." }) estimatedCost!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true, description: "The escrow hold: cap x GPUs x maxDurationSeconds / 3600 x redundancy." }) maxCost!: bigint | null;
  @Field(() => Int, { nullable: true, description: "0 when offers match now; else the median of recent fill times; null without data." }) expectedWaitSeconds!: number | null;
  @Field(() => [Exclusion]) excluded!: Exclusion[];
}

@ObjectType({ simpleResolvers: true, description: "The new aggregate of one price level (gpus 0 removes it) and the market's sequence after the change." })
export class BookUpdate {
  @Field(() => ID) market!: string;
  @Field(() => BigIntScalar) sequence!: bigint;
  @Field(() => OrderSide) side!: OrderSide;
  @Field(() => DecimalScalar) price!: bigint;
  @Field(() => Int) gpus!: number;
  @Field(() => Int) orders!: number;
}

@ObjectType({ simpleResolvers: true })
export class TradeTick {
  @Field(() => ID) id!: string;
  @Field(() => ID) market!: string;
  @Field(() => DecimalScalar) price!: bigint;
  @Field(() => Int) gpus!: number;
  @Field() executedAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class MarketTickerUpdate {
  @Field(() => ID) market!: string;
  @Field(() => DecimalScalar, { nullable: true }) bestAsk!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true }) bestBid!: bigint | null;
  @Field(() => DecimalScalar, { nullable: true }) lastPrice!: bigint | null;
  @Field(() => Int, { description: "GPUs matched in the last 24 hours." }) volume24h!: number;
  @Field() at!: Date;
}
