import { decimalToUnits } from "./decimal";
import type { OrderSide } from "./generated/graphql";

/** One price level: its price (OGPU per GPU-hour), the GPUs offered (or bid) there and how many orders make it. */
export interface PriceLevel {
  price: string;
  gpus: number;
  orders: number;
}

/** An `orderBook` snapshot as the API sends it. */
export interface BookSnapshot {
  market: string;
  sequence: string;
  asks: readonly PriceLevel[];
  bids: readonly PriceLevel[];
}

/** An `orderBookUpdates` delta: the new aggregate at one level (gpus 0 removes it) and the market's sequence after it. */
export interface BookDelta {
  market: string;
  sequence: string;
  side: OrderSide;
  price: string;
  gpus: number;
  orders: number;
}

/** A market's book at one sequence: asks cheapest first, bids highest first. */
export interface OrderBook {
  market: string;
  sequence: bigint;
  asks: readonly PriceLevel[];
  bids: readonly PriceLevel[];
}

/**
 * What one delta did: `applied`; `stale` (at or below the book's sequence, or another market's: ignored); `gap` (its
 * sequence is past the next one: a delta was missed, and only a new snapshot can tell the book).
 */
export type DeltaOutcome = "applied" | "stale" | "gap";

const byPrice = (side: OrderSide) => (a: PriceLevel, b: PriceLevel) => {
  const x = decimalToUnits(a.price);
  const y = decimalToUnits(b.price);
  const asc = x < y ? -1 : x > y ? 1 : 0;
  return side === "ASK" ? asc : -asc;
};

const copy = (l: PriceLevel): PriceLevel => ({ price: l.price, gpus: l.gpus, orders: l.orders });

/** The book of a snapshot, its levels sorted (asks cheapest first, bids highest first) and empty ones left out. */
export function bookFromSnapshot(snapshot: BookSnapshot): OrderBook {
  return {
    market: snapshot.market,
    sequence: BigInt(snapshot.sequence),
    asks: snapshot.asks.filter((l) => l.gpus > 0).map(copy).sort(byPrice("ASK")),
    bids: snapshot.bids.filter((l) => l.gpus > 0).map(copy).sort(byPrice("BID")),
  };
}

/** Sets one level of a sorted side: replaced, inserted in price order, or removed when `gpus` is 0. */
function setLevel(levels: readonly PriceLevel[], side: OrderSide, level: PriceLevel): PriceLevel[] {
  const units = decimalToUnits(level.price);
  const before = (l: PriceLevel) => (side === "ASK" ? decimalToUnits(l.price) < units : decimalToUnits(l.price) > units);
  let lo = 0;
  let hi = levels.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(levels[mid])) lo = mid + 1;
    else hi = mid;
  }
  const out = levels.slice();
  const same = lo < levels.length && decimalToUnits(levels[lo].price) === units;
  if (level.gpus <= 0) {
    if (same) out.splice(lo, 1);
  } else {
    out.splice(lo, same ? 1 : 0, copy(level));
  }
  return out;
}

/**
 * Applies one delta by the API's rule (README "Keeping a book"): a delta at or below the book's sequence is stale,
 * the next sequence sets its level, anything further is a gap. The book given is not changed; on `stale` and `gap`
 * the same book comes back.
 */
export function applyDelta(book: OrderBook, delta: BookDelta): { book: OrderBook; outcome: DeltaOutcome } {
  if (delta.market !== book.market) return { book, outcome: "stale" };
  const sequence = BigInt(delta.sequence);
  if (sequence <= book.sequence) return { book, outcome: "stale" };
  if (sequence !== book.sequence + 1n) return { book, outcome: "gap" };
  const level = { price: delta.price, gpus: delta.gpus, orders: delta.orders };
  return {
    book: {
      market: book.market,
      sequence,
      asks: delta.side === "ASK" ? setLevel(book.asks, "ASK", level) : book.asks,
      bids: delta.side === "BID" ? setLevel(book.bids, "BID", level) : book.bids,
    },
    outcome: "applied",
  };
}

/** Whether two books hold the same levels at the same sequence (prices compared by value). */
export function sameBook(a: OrderBook, b: OrderBook): boolean {
  const same = (x: readonly PriceLevel[], y: readonly PriceLevel[]) =>
    x.length === y.length && x.every((l, i) => decimalToUnits(l.price) === decimalToUnits(y[i].price) && l.gpus === y[i].gpus && l.orders === y[i].orders);
  return a.market === b.market && a.sequence === b.sequence && same(a.asks, b.asks) && same(a.bids, b.bids);
}

/** The best ask and the best bid (null where a side is empty). */
export function topOfBook(book: OrderBook): { bestAsk: string | null; bestBid: string | null } {
  return { bestAsk: book.asks[0]?.price ?? null, bestBid: book.bids[0]?.price ?? null };
}
