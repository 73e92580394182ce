/** Which side of the book a resting order sits on. */
export type BookSide = "ASK" | "BID";

/** One resting order as the book sees it: a price per GPU-hour in wei and GPUs still on offer. */
export interface BookOrder {
  priceWei: bigint;
  gpus: number;
}

/** An aggregated price level: all orders at one price, summed. */
export interface BookLevel {
  priceWei: bigint;
  gpus: number;
  orders: number;
}

/**
 * Aggregates orders into price levels, best first: asks ascending, bids descending.
 * Orders with zero GPUs are left out (they are not on the book). At most `depth` levels are returned
 * (all when depth is undefined). Pure; the input is not modified.
 */
export function aggregateLevels(orders: readonly BookOrder[], side: BookSide, depth?: number): BookLevel[] {
  const byPrice = new Map<bigint, BookLevel>();
  for (const order of orders) {
    if (order.gpus <= 0) continue;
    const level = byPrice.get(order.priceWei);
    if (level) {
      level.gpus += order.gpus;
      level.orders += 1;
    } else {
      byPrice.set(order.priceWei, { priceWei: order.priceWei, gpus: order.gpus, orders: 1 });
    }
  }
  const levels = [...byPrice.values()].sort((a, b) => compareBigint(a.priceWei, b.priceWei) * (side === "ASK" ? 1 : -1));
  return depth === undefined ? levels : levels.slice(0, depth);
}

/** Three-way comparison of bigints, for sorting. */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
