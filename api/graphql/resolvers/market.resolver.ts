import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import type { BookDelta } from "../../db/repositories/book.repository";
import type { TradeEvent } from "../../db/repositories/match.repository";
import type { GraphQLContext } from "../context";
import { CandleInterval, OrderSide } from "../enums";
import { firstOf, LISTED } from "../list-bounds";
import { JobRequirementsInput } from "../inputs/job.input";
import { toCandle, toJob, toMarket, toOrderBook, toQuote, toTrade } from "../mappers";
import { Job } from "../types/job.type";
import type { MarketTicker as MarketTickerData } from "../../services/market.service";
import { BookUpdate, Candle, Market, MarketTickerUpdate, OrderBook, Quote, Trade, TradeConnection, TradeTick } from "../types/market.type";
import { requirementsData } from "./job.resolver";
import type { Services } from "../../services";
import { maySeeJobOfTrade } from "../../services/visibility";

@Resolver()
export class MarketResolver {
  @Query(() => [Market], { description: `Every market that has had an offer (the first ${LISTED.markets}).` })
  async markets(@Ctx() ctx: GraphQLContext): Promise<Market[]> {
    return firstOf(await ctx.services.markets.list(), LISTED.markets).map(toMarket);
  }

  @Query(() => Market, { nullable: true })
  async market(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Market | null> {
    const market = await ctx.services.markets.byId(id);
    return market ? toMarket(market) : null;
  }

  @Query(() => OrderBook, { description: "Aggregated price levels and the sequence of this snapshot (depth 1 to 500, default 20)." })
  async orderBook(
    @Arg("market", () => ID) market: string,
    @Arg("depth", () => Int, { nullable: true }) depth: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<OrderBook> {
    const book = await ctx.services.markets.orderBook(market, depth);
    // right while the book cache still serves this same immutable snapshot (a newer sequence or its max age replaces it)
    ctx.cacheReads.push({ valid: () => ctx.services.markets.currentOrderBook(market, depth) === book });
    return toOrderBook(book);
  }

  @Query(() => TradeConnection, { description: "A market's trades, newest first." })
  async trades(
    @Arg("market", () => ID) market: string,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<TradeConnection> {
    const page = await ctx.services.markets.trades(market, first, after);
    return {
      edges: page.trades.map((t, i) => ({ cursor: page.cursors[i], node: toTrade(t) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => [Candle], { description: "OHLC of a market's trades between unrelated accounts (trades between related accounts, as for referencePrice, left out): from inclusive, to exclusive (default now); buckets without trades left out." })
  async candles(
    @Arg("market", () => ID) market: string,
    @Arg("interval", () => CandleInterval) interval: CandleInterval,
    @Arg("from", () => Date) from: Date,
    @Arg("to", () => Date, { nullable: true }) to: Date | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Candle[]> {
    return (await ctx.services.markets.candles(market, interval, from, to)).map(toCandle);
  }

  @Query(() => Quote, { description: "What these requirements would get now, and why offers were passed over." })
  async quote(@Arg("input", () => JobRequirementsInput) input: JobRequirementsInput, @Ctx() ctx: GraphQLContext): Promise<Quote> {
    return toQuote(await ctx.services.quotes.quote(requirementsData(input), new Date(), ctx.principal?.accountId));
  }
}

/**
 * Feeds whose events are the same for every subscriber: served by one execution per distinct subscription
 * (graphql/feed-fanout.ts), with what to do when a subscriber joins one already running. Event feeds (book deltas,
 * trades) start with nothing; the ticker is a state, so a newcomer asks for a fresh tick, which every subscriber then
 * receives (at most one per ticker gap, however many join).
 */
export const SHARED_FEEDS: Record<string, ((services: Services, args: Record<string, unknown>) => void) | null> = {
  orderBookUpdates: null,
  tradeExecuted: null,
  marketTicker: (services, args) => services.markets.refreshTicker(String(args.market)),
};

@Resolver()
export class MarketFeedResolver {
  @Subscription(() => BookUpdate, {
    description: "Book deltas of a market, in sequence order. Load orderBook, apply deltas with a higher sequence; a gap means: load a new snapshot.",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.markets.bookStream(String(args.market)),
  })
  orderBookUpdates(@Root() d: BookDelta, @Arg("market", () => ID) _market: string): BookUpdate {
    return { market: d.market, sequence: BigInt(d.sequence), side: OrderSide[d.side], price: BigInt(d.priceWei), gpus: d.gpus, orders: d.orders };
  }

  @Subscription(() => MarketTickerUpdate, {
    description: "The market's best ask and bid, last price and 24 h volume: now, then after every change (at most 4 a second).",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.markets.tickerStream(String(args.market)),
  })
  marketTicker(@Root() t: MarketTickerData, @Arg("market", () => ID) _market: string): MarketTickerUpdate {
    return { market: t.market, bestAsk: t.bestAskWei, bestBid: t.bestBidWei, lastPrice: t.lastPriceWei, volume24h: t.volume24hGpus, at: t.at };
  }

  @Subscription(() => TradeTick, {
    description: "Trades of a market as they execute.",
    subscribe: ({ args, context }) => (context as GraphQLContext).services.markets.tradeStream(String(args.market)),
  })
  tradeExecuted(@Root() t: TradeEvent, @Arg("market", () => ID) _market: string): TradeTick {
    return { id: t.id, market: t.market, price: BigInt(t.priceWei), gpus: t.gpus, executedAt: new Date(t.executedAt) };
  }
}

@Resolver(() => Trade)
export class TradeResolver {
  @FieldResolver(() => Job, { nullable: true, description: "The buying job: null unless it is yours." })
  async job(@Root() trade: Trade, @Ctx() ctx: GraphQLContext): Promise<Job | null> {
    if (!maySeeJobOfTrade(ctx.principal, trade)) return null;
    const job = await ctx.loaders.job.load(trade.jobId);
    return job ? toJob(job) : null;
  }
}
