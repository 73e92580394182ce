import { PricingError } from "./errors";

/** One executed trade as reference prices see it: its price in wei per GPU-hour, GPUs matched, and when (Unix ms). */
export interface TradePoint {
  priceWei: bigint;
  gpus: number;
  executedAtMs: number;
}

/** Fixed-point scale of {@link ewmaWei}'s decay factor: weights are whole multiples of 1 / 10^9. */
export const EWMA_WEIGHT_SCALE = 1_000_000_000;

function assertFiniteMs(name: string, ms: number): void {
  if (!Number.isFinite(ms)) throw new PricingError("INVALID_TIME", `${name} must be a finite number of milliseconds, got ${ms}`);
}

/** Price in wei of the latest trade (greatest executedAtMs; on a tie the later one in the array), or null when there are none. */
export function lastPriceWei(trades: readonly TradePoint[]): bigint | null {
  let last: TradePoint | null = null;
  for (const t of trades) if (last === null || t.executedAtMs >= last.executedAtMs) last = t;
  return last === null ? null : last.priceWei;
}

/**
 * Volume-weighted average price in wei of the trades executed in [fromMs, toMs): floor(Σ price × gpus / Σ gpus),
 * rounded down. Null when no GPUs traded in the window. The result lies between the lowest and highest price in it.
 */
export function vwapWei(trades: readonly TradePoint[], fromMs: number, toMs: number): bigint | null {
  let notional = 0n;
  let gpus = 0n;
  for (const t of trades) {
    if (t.executedAtMs < fromMs || t.executedAtMs >= toMs || t.gpus <= 0) continue;
    notional += t.priceWei * BigInt(t.gpus);
    gpus += BigInt(t.gpus);
  }
  return gpus === 0n ? null : notional / gpus;
}

/**
 * Exponentially weighted average price in wei as of `nowMs`: each trade at or before nowMs weighs
 * gpus × 0.5^((nowMs - executedAtMs) / halfLifeMs), the decay held as a whole number of 1 / {@link EWMA_WEIGHT_SCALE}
 * (rounded to nearest, at least 1 so old trades still count), and the average is floor(Σ price × weight / Σ weight)
 * in bigint: money never passes through a float. Trades after nowMs are left out. Null when no GPUs traded by nowMs.
 * Throws INVALID_TIME unless halfLifeMs is positive and finite and nowMs finite.
 */
export function ewmaWei(trades: readonly TradePoint[], halfLifeMs: number, nowMs: number): bigint | null {
  assertFiniteMs("nowMs", nowMs);
  if (!Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw new PricingError("INVALID_TIME", `halfLifeMs must be a positive number of milliseconds, got ${halfLifeMs}`);
  }
  let weighted = 0n;
  let total = 0n;
  for (const t of trades) {
    if (t.executedAtMs > nowMs || t.gpus <= 0) continue;
    const weight = decayWeight(nowMs - t.executedAtMs, halfLifeMs) * BigInt(t.gpus);
    weighted += t.priceWei * weight;
    total += weight;
  }
  return total === 0n ? null : weighted / total;
}

/**
 * The decay of {@link ewmaWei} for a trade `ageMs` old: round({@link EWMA_WEIGHT_SCALE} × 0.5^(ageMs / halfLifeMs)),
 * at least 1, as a bigint (1 / EWMA_WEIGHT_SCALE per unit). The caller checks that halfLifeMs is positive.
 */
export function decayWeight(ageMs: number, halfLifeMs: number): bigint {
  return BigInt(Math.max(1, Math.round(EWMA_WEIGHT_SCALE * 0.5 ** (ageMs / halfLifeMs))));
}
