import { PricingError } from "./errors";
import type { TradePoint } from "./reference";

/** Candle widths the market feeds serve. */
export type CandleInterval = "ONE_MINUTE" | "FIVE_MINUTES" | "ONE_HOUR" | "ONE_DAY";

/** Width of each candle interval in ms. */
export const CANDLE_INTERVAL_MS: Readonly<Record<CandleInterval, number>> = Object.freeze({
  ONE_MINUTE: 60_000,
  FIVE_MINUTES: 300_000,
  ONE_HOUR: 3_600_000,
  ONE_DAY: 86_400_000,
});

/** One bucket of trades: prices in wei per GPU-hour, volume in GPUs matched, openTimeMs the bucket's start (Unix ms). */
export interface Candle {
  openTimeMs: number;
  openWei: bigint;
  highWei: bigint;
  lowWei: bigint;
  closeWei: bigint;
  volumeGpus: number;
  trades: number;
}

/**
 * Candles of the trades executed in [fromMs, toMs), in buckets of `interval` aligned to the Unix epoch (UTC):
 * a trade at t falls in the bucket opening at floor(t / width) × width, so the first and last buckets may start
 * before fromMs or end after toMs but hold only trades inside the window. Buckets without trades are left out;
 * candles come in ascending openTimeMs. Trades may come in any order: within a bucket they are ordered by
 * executedAtMs, then input order, so open is the earliest and close the latest. Every trade in the window counts
 * once in `trades` and its GPUs once in `volumeGpus`; lowWei ≤ openWei, closeWei ≤ highWei.
 * Throws INVALID_TIME when fromMs or toMs is not finite; an empty window gives no candles.
 */
export function buildCandles(trades: readonly TradePoint[], interval: CandleInterval, fromMs: number, toMs: number): Candle[] {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    throw new PricingError("INVALID_TIME", `candle window must be finite milliseconds, got from ${fromMs} to ${toMs}`);
  }
  const width = CANDLE_INTERVAL_MS[interval];
  if (width === undefined) throw new PricingError("INVALID_TIME", `unknown candle interval "${String(interval)}"`);
  const inWindow = trades.filter((t) => t.executedAtMs >= fromMs && t.executedAtMs < toMs);
  inWindow.sort((a, b) => a.executedAtMs - b.executedAtMs);
  const candles: Candle[] = [];
  let current: Candle | null = null;
  for (const t of inWindow) {
    const openTimeMs = Math.floor(t.executedAtMs / width) * width;
    if (current === null || current.openTimeMs !== openTimeMs) {
      current = { openTimeMs, openWei: t.priceWei, highWei: t.priceWei, lowWei: t.priceWei, closeWei: t.priceWei, volumeGpus: 0, trades: 0 };
      candles.push(current);
    }
    if (t.priceWei > current.highWei) current.highWei = t.priceWei;
    if (t.priceWei < current.lowWei) current.lowWei = t.priceWei;
    current.closeWei = t.priceWei;
    current.volumeGpus += t.gpus;
    current.trades += 1;
  }
  return candles;
}
