import { parseMarketId } from "../../matching";
import {
  buildCandles,
  CANDLE_INTERVAL_MS,
  demandGpus,
  isArmsLength,
  lastArmsLengthPriceWei,
  relatedGroups,
  robustReferenceWei,
  suggestPrice,
  type Candle,
  type CandleInterval,
  type PartyTrade,
} from "../../pricing";
import type { DataSource } from "typeorm";
import { BOOK_DELTA_TOPIC, type BookDelta, type BookSnapshot } from "../db/repositories/book.repository";
import { TRADE_TOPIC, type TradeEvent } from "../db/repositories/match.repository";
import { NO_EVENTS, type EventStreams } from "./events";
import { StateHub } from "./state-hub";
import { accountAddresses } from "../db/repositories/related-accounts";
import { marketBooks, type MarketBookRow } from "../db/repositories/market.repository";
import {
  bidsOn,
  latestPartyTrades,
  marketTradeStats,
  partyTrades,
  restingBids,
  tradesOfMarket,
  type PartyTradeRecord,
  type RestingBidRecord,
  type TradeRecord,
} from "../db/repositories/trade.repository";
import { badInput } from "./errors";
import type { BookCache } from "./book-cache";
import { decodeOrdinalCursor, ordinalCursor, pageSize } from "./paging";

/** A market's book figures (MarketBookRow) with its utilization, tape and reference price. */
export interface MarketSummary extends MarketBookRow {
  /** GPUs in use / GPUs offered over open offers, 0 when nothing is offered. */
  utilization: number;
  /** The latest trade's price and the GPUs matched in 24 h: every trade, as the tape shows them. */
  lastPriceWei: bigint | null;
  volume24hGpus: number;
  /**
   * The robust reference price (`robustReferenceWei` of the day's trades, else the latest trade between unrelated
   * accounts, else the best ask); null while the market has none of them, and in tickers.
   */
  referencePriceWei: bigint | null;
  /** The resting bids' demand as the suggested price counts it (`demandGpus`: escrow-backed, by time rested); 0 in tickers. */
  demandGpus: number;
  /** Null while the market has no reference price. */
  suggestedPriceWei: bigint | null;
  suggestedFactorBps: number | null;
}

export interface MarketTicker {
  market: string;
  bestAskWei: bigint | null;
  bestBidWei: bigint | null;
  lastPriceWei: bigint | null;
  volume24hGpus: number;
  at: Date;
}

export interface TradePage {
  trades: TradeRecord[];
  cursors: string[];
  hasNextPage: boolean;
}

/** The window of volume24h and of the reference price's trades (decaying by half every hour). */
const DAY_MS = 86_400_000;
const REFERENCE_HALF_LIFE_MS = 3_600_000;
/** Trades looked back over for a reference when none of the day's trades has weight. */
const REFERENCE_FALLBACK_TRADES = 100;
/** Most candles one query returns. */
export const MAX_CANDLES = 1000;

export const MAX_BOOK_DEPTH = 500;
/** How long a market's reference price is reused while its last price and 24 h volume do not change. */
const REFERENCE_MAX_AGE_MS = 5_000;
/** The shortest gap between two ticks of a market's ticker. */
export const TICKER_MIN_GAP_MS = 250;
export const DEFAULT_BOOK_DEPTH = 20;

/** Markets and their books (read side). */
export class MarketService {
  /** Truncations of cached snapshots by depth, so hot reads return the same (immutable) object. */
  private readonly truncated = new WeakMap<BookSnapshot, Map<number, BookSnapshot>>();

  /** Reference prices by market, with what they were computed from (see `reference`). */
  private readonly references = new Map<string, { key: string; at: number; value: bigint | null }>();
  /** Tickers computed once per market per change window, whatever the number of subscribers. */
  private readonly tickers: StateHub<MarketTicker>;

  constructor(
    private readonly db: DataSource,
    private readonly books: BookCache,
    private readonly events: EventStreams = NO_EVENTS,
    onError: (err: unknown) => void = () => undefined,
  ) {
    this.tickers = new StateHub((market) => [this.events.listen(BOOK_DELTA_TOPIC, market), this.events.listen(TRADE_TOPIC, market)], (market) => this.ticker(market), TICKER_MIN_GAP_MS, onError);
  }

  /** Book deltas of a market from now on, in sequence order (apply those above an orderBook snapshot's sequence). */
  bookStream(marketText: string): AsyncIterableIterator<BookDelta> {
    return this.events.listen<BookDelta>(BOOK_DELTA_TOPIC, parseMarketId(marketText).id);
  }

  /**
   * A market's ticker now and after every change of its book or trades, at most every TICKER_MIN_GAP_MS (changes in
   * a gap fold into one tick). The ticks after the first are computed once for all of the market's subscribers.
   */
  tickerStream(marketText: string): AsyncIterableIterator<MarketTicker> {
    return this.tickers.stream(parseMarketId(marketText).id);
  }

  /** Ticks the market's ticker for all its subscribers on this instance (within the usual gap); a bad id does nothing. */
  refreshTicker(marketText: string): void {
    try {
      this.tickers.refresh(parseMarketId(marketText).id);
    } catch {
      // not a market id: it has no subscribers
    }
  }

  async ticker(market: string, now = new Date()): Promise<MarketTicker> {
    const [summary] = await this.summaries(market, now, false);
    return {
      market,
      bestAskWei: summary?.bestAskWei ?? null,
      bestBidWei: summary?.bestBidWei ?? null,
      lastPriceWei: summary?.lastPriceWei ?? null,
      volume24hGpus: summary?.volume24hGpus ?? 0,
      at: now,
    };
  }

  /** Trades of a market from now on. */
  tradeStream(marketText: string): AsyncIterableIterator<TradeEvent> {
    return this.events.listen<TradeEvent>(TRADE_TOPIC, parseMarketId(marketText).id);
  }

  /** The book of a market, `depth` levels a side (default 20, 1 to 500). An unknown but well-formed market has an empty book at sequence 0. */
  async orderBook(marketText: string, depth: number | undefined | null): Promise<BookSnapshot> {
    const market = parseMarketId(marketText).id;
    const levels = depth ?? DEFAULT_BOOK_DEPTH;
    if (!Number.isInteger(levels) || levels < 1 || levels > MAX_BOOK_DEPTH) throw badInput(`depth must be from 1 to ${MAX_BOOK_DEPTH}, got ${depth}`);
    return this.truncate((await this.books.get(market)) ?? { market, sequence: 0n, asks: [], bids: [] }, levels);
  }

  /**
   * What `orderBook` would return now, when the book cache holds a fresh snapshot (the same object), without
   * reading; undefined otherwise or for bad arguments. The response cache checks its entries with it.
   */
  currentOrderBook(marketText: string, depth: number | null): BookSnapshot | undefined {
    const levels = depth ?? DEFAULT_BOOK_DEPTH;
    let market: string;
    try {
      market = parseMarketId(marketText).id;
    } catch {
      return undefined;
    }
    const book = this.books.peek(market);
    return book ? this.truncate(book, levels) : undefined;
  }

  private truncate(book: BookSnapshot, levels: number): BookSnapshot {
    if (book.asks.length <= levels && book.bids.length <= levels) return book;
    let byDepth = this.truncated.get(book);
    if (!byDepth) this.truncated.set(book, (byDepth = new Map()));
    let cut = byDepth.get(levels);
    if (!cut) byDepth.set(levels, (cut = { ...book, asks: book.asks.slice(0, levels), bids: book.bids.slice(0, levels) }));
    return cut;
  }

  async list(): Promise<MarketSummary[]> {
    return this.summaries(undefined);
  }

  async byId(marketText: string): Promise<MarketSummary | undefined> {
    const [summary] = await this.summaries(parseMarketId(marketText).id);
    return summary;
  }

  /** A market's trades, newest first. */
  async trades(marketText: string, first: number | undefined | null, after: string | undefined | null): Promise<TradePage> {
    const market = parseMarketId(marketText).id;
    const size = pageSize(first);
    const before = after === undefined || after === null ? undefined : decodeOrdinalCursor("t", after);
    const rows = await tradesOfMarket(this.db, market, size, before);
    const trades = rows.slice(0, size);
    return { trades, cursors: trades.map((t) => ordinalCursor("t", t.ordinal)), hasNextPage: rows.length > size };
  }

  /**
   * OHLC candles of a market's trades in [from, to) (to defaults to now); at most {@link MAX_CANDLES} buckets. Trades
   * between related accounts (the same account, or accounts sharing an address; see `relatedGroups`) are left out, as
   * they are from the reference price: candles chart prices that unrelated parties paid. Trades, lastPrice and volume24h
   * show every trade.
   */
  async candles(marketText: string, interval: CandleInterval, from: Date, to: Date | undefined | null, now = new Date()): Promise<Candle[]> {
    const market = parseMarketId(marketText).id;
    const end = to ?? now;
    if (Number.isNaN(from.getTime()) || Number.isNaN(end.getTime()) || end.getTime() <= from.getTime()) throw badInput("candles: from must be before to");
    if ((end.getTime() - from.getTime()) / CANDLE_INTERVAL_MS[interval] > MAX_CANDLES) {
      throw badInput(`candles: at most ${MAX_CANDLES} ${interval} buckets per query; narrow from/to or take a longer interval`);
    }
    const trades = (await this.withGroups(await partyTrades(this.db, market, from, end))).filter(isArmsLength);
    return buildCandles(trades, interval, from.getTime(), end.getTime());
  }

  /** Trades with the groups of related accounts their two sides belong to (accounts sharing an address). */
  private async withGroups(records: PartyTradeRecord[]): Promise<PartyTrade[]> {
    if (records.length === 0) return [];
    const ids = [...new Set(records.flatMap((r) => [r.clientId, r.providerId]))];
    const groups = relatedGroups(ids, await accountAddresses(this.db, ids));
    return records.map((r) => ({ priceWei: r.priceWei, gpus: r.gpus, executedAtMs: r.executedAtMs, clientGroup: groups.get(r.clientId)!, providerGroup: groups.get(r.providerId)! }));
  }

  /**
   * The reference price of a traded market: `robustReferenceWei` of its last 24 h of trades (every one of them read,
   * with the accounts on both sides and their addresses), else the price of the latest of its last
   * REFERENCE_FALLBACK_TRADES trades between unrelated accounts; kept for REFERENCE_MAX_AGE_MS while the market's
   * last price and 24 h volume stay the same, so polling `markets` does not read a busy market's day of trades each time.
   */
  private async reference(market: string, stat: { lastPriceWei: bigint | null; volume24hGpus: number }, since: Date, now: Date): Promise<bigint | null> {
    const key = `${stat.lastPriceWei}:${stat.volume24hGpus}`;
    const kept = this.references.get(market);
    if (kept && kept.key === key && now.getTime() - kept.at >= 0 && now.getTime() - kept.at < REFERENCE_MAX_AGE_MS) return kept.value;
    const day = stat.volume24hGpus > 0 ? await this.withGroups(await partyTrades(this.db, market, since, now)) : [];
    const value =
      robustReferenceWei(day, REFERENCE_HALF_LIFE_MS, now.getTime()) ??
      lastArmsLengthPriceWei(await this.withGroups(await latestPartyTrades(this.db, market, REFERENCE_FALLBACK_TRADES)));
    this.references.set(market, { key, at: now.getTime(), value });
    return value;
  }

  /** Markets with their book, bids and trade figures; `suggest` adds the reference and suggested prices. */
  private async summaries(id: string | undefined, now = new Date(), suggest = true): Promise<MarketSummary[]> {
    const rows = await marketBooks(this.db, id, now);
    const since = new Date(now.getTime() - DAY_MS);
    const stats = await marketTradeStats(this.db, since, id);
    const one = id === undefined || rows.length !== 1 ? undefined : { gpuModel: rows[0].gpuModel, vramGb: rows[0].vramGb };
    const bids: RestingBidRecord[] = suggest && rows.length > 0 ? await restingBids(this.db, one) : [];
    const summaries: MarketSummary[] = [];
    for (const r of rows) {
      const market = r.id;
      const offered = r.offeredGpus;
      const available = r.availableGpus;
      const utilization = offered === 0 ? 0 : (offered - available) / offered;
      const bestAskWei = r.bestAskWei;
      const stat = stats.get(market);
      const reference = suggest ? ((stat && stat.lastPriceWei !== null ? await this.reference(market, stat, since, now) : null) ?? bestAskWei) : null;
      const on = { gpuModel: r.gpuModel, vramGb: r.vramGb };
      const demand = reference === null ? 0 : demandGpus(bids.filter((b) => bidsOn(b, on)), reference, now.getTime());
      const suggestion = reference === null ? null : suggestPrice({ referenceWei: reference, utilization, bidGpus: demand, askGpus: available });
      summaries.push({
        id: market,
        gpuModel: r.gpuModel,
        vramGb: r.vramGb,
        sequence: r.sequence,
        bestAskWei,
        openOffers: r.openOffers,
        availableGpus: available,
        offeredGpus: offered,
        utilization,
        bestBidWei: r.bestBidWei,
        bidGpus: r.bidGpus,
        lastPriceWei: stat?.lastPriceWei ?? null,
        volume24hGpus: stat?.volume24hGpus ?? 0,
        referencePriceWei: reference,
        demandGpus: demand,
        suggestedPriceWei: suggestion?.priceWei ?? null,
        suggestedFactorBps: suggestion?.factorBps ?? null,
      });
    }
    return summaries;
  }
}
