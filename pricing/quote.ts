import { costWei, holdWei } from "./cost";
import { PricingError } from "./errors";

/** What a quote is computed from: the offers matching would choose and the job's size, duration and cap. */
export interface QuoteInput {
  chosenPricesWei: readonly bigint[];
  matchingOffers: number;
  gpuCount: number;
  maxDurationSeconds: number;
  redundancy: number;
  maxPriceWei: bigint | null;
  recentWaitSeconds: readonly number[];
}

/** A quote: amounts in wei, the expected wait in whole seconds; null where there is nothing to base it on. */
export interface QuoteResult {
  matchingOffers: number;
  bestPriceWei: bigint | null;
  estimatedCostWei: bigint | null;
  maxCostWei: bigint | null;
  expectedWaitSeconds: number | null;
}

/**
 * A quote for a job. `chosenPricesWei` are the asks, in wei per GPU-hour, of the offers matching would choose now
 * (one per replica, best first).
 * - bestPriceWei: the lowest chosen price; null when none is chosen.
 * - estimatedCostWei: Σ costWei(p, gpuCount, maxDurationSeconds) over the first `redundancy` chosen prices (each
 *   rounded down, as the replicas are charged); null when fewer than `redundancy` are chosen.
 * - maxCostWei: holdWei(maxPriceWei, gpuCount, maxDurationSeconds, redundancy), what submit holds in escrow; without
 *   a cap, the highest chosen price stands in for it; null when there is no cap and none is chosen.
 *   estimatedCostWei ≤ maxCostWei whenever both are set and every chosen price is within the cap.
 * - expectedWaitSeconds: 0 when enough offers are chosen for every replica; otherwise the median of
 *   recentWaitSeconds (mean of the middle two for an even count), rounded up; null when there are none.
 * Throws as {@link costWei} / {@link holdWei}; INVALID_QUANTITY on a redundancy below 1 or a negative or non-finite wait.
 */
export function quoteOf(input: QuoteInput): QuoteResult {
  const { chosenPricesWei: chosen, gpuCount, maxDurationSeconds, redundancy, maxPriceWei } = input;
  if (!Number.isSafeInteger(redundancy) || redundancy < 1) {
    throw new PricingError("INVALID_QUANTITY", `redundancy must be a whole number of at least 1, got ${redundancy}`);
  }
  const enough = chosen.length >= redundancy;
  let best: bigint | null = null;
  let highest: bigint | null = null;
  for (const p of chosen) {
    if (best === null || p < best) best = p;
    if (highest === null || p > highest) highest = p;
  }
  let estimatedCostWei: bigint | null = null;
  if (enough) {
    estimatedCostWei = 0n;
    for (const p of chosen.slice(0, redundancy)) estimatedCostWei += costWei(p, gpuCount, maxDurationSeconds);
  }
  const cap = maxPriceWei ?? highest;
  return {
    matchingOffers: input.matchingOffers,
    bestPriceWei: best,
    estimatedCostWei,
    maxCostWei: cap === null ? null : holdWei(cap, gpuCount, maxDurationSeconds, redundancy),
    expectedWaitSeconds: enough ? 0 : medianSecondsOf(input.recentWaitSeconds),
  };
}

function medianSecondsOf(waits: readonly number[]): number | null {
  if (waits.length === 0) return null;
  for (const w of waits) {
    if (!Number.isFinite(w) || w < 0) throw new PricingError("INVALID_QUANTITY", `recentWaitSeconds must be zero or more, got ${w}`);
  }
  const sorted = [...waits].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Math.ceil(median);
}

