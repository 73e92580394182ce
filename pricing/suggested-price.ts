import { PricingError } from "./errors";

/** Utilization at which the suggested price equals the reference price (with a balanced book). */
export const TARGET_UTILIZATION = 0.7;
/** Change of the price factor per unit of utilization above (or below) the target. */
export const UTILIZATION_GAIN = 0.5;
/** Change of the price factor per unit of book imbalance (bids minus asks over their sum). */
export const IMBALANCE_GAIN = 0.25;
/** Lowest price factor, in basis points of the reference price (0.5×). */
export const MIN_FACTOR_BPS = 5_000;
/** Highest price factor, in basis points of the reference price (2.0×). */
export const MAX_FACTOR_BPS = 20_000;
const BPS = 10_000;

/** What a suggested price is made of: a reference price in wei per GPU-hour, utilization in [0,1], GPUs wanted and offered. */
export interface SuggestInput {
  referenceWei: bigint;
  utilization: number;
  bidGpus: number;
  askGpus: number;
}

/** A suggested price in wei per GPU-hour and the factor applied to the reference, in basis points. */
export interface SuggestedPrice {
  priceWei: bigint;
  factorBps: number;
}

/**
 * A supply-and-demand price for a provider's offer, from a reference price (e.g. the market's EWMA or last trade):
 *   imbalance = (bidGpus − askGpus) / (bidGpus + askGpus), in [−1, 1], 0 when both are 0;
 *   factor    = 1 + {@link UTILIZATION_GAIN} × (utilization − {@link TARGET_UTILIZATION}) + {@link IMBALANCE_GAIN} × imbalance,
 *               with utilization first clamped to [0, 1];
 *   factorBps = round(factor × 10000), clamped to [{@link MIN_FACTOR_BPS}, {@link MAX_FACTOR_BPS}] (0.5× to 2.0×);
 *   priceWei  = floor(referenceWei × factorBps / 10000).
 * The money part is bigint; only the factor is a float, and it is a whole number of basis points before it touches
 * the price. Non-decreasing in utilization and in bidGpus, non-increasing in askGpus.
 * Throws NEGATIVE_AMOUNT on a negative reference, INVALID_QUANTITY on a non-finite utilization or negative GPUs.
 */
export function suggestPrice(input: SuggestInput): SuggestedPrice {
  const { referenceWei, utilization, bidGpus, askGpus } = input;
  if (referenceWei < 0n) throw new PricingError("NEGATIVE_AMOUNT", `referenceWei must be zero or more, got ${referenceWei}`);
  if (!Number.isFinite(utilization)) throw new PricingError("INVALID_QUANTITY", `utilization must be a number in [0, 1], got ${utilization}`);
  for (const [name, gpus] of [["bidGpus", bidGpus], ["askGpus", askGpus]] as const) {
    if (!Number.isFinite(gpus) || gpus < 0) throw new PricingError("INVALID_QUANTITY", `${name} must be zero or more, got ${gpus}`);
  }
  const u = Math.min(1, Math.max(0, utilization));
  const imbalance = bidGpus + askGpus === 0 ? 0 : (bidGpus - askGpus) / (bidGpus + askGpus);
  const factor = 1 + UTILIZATION_GAIN * (u - TARGET_UTILIZATION) + IMBALANCE_GAIN * imbalance;
  const factorBps = Math.min(MAX_FACTOR_BPS, Math.max(MIN_FACTOR_BPS, Math.round(factor * BPS)));
  return { priceWei: (referenceWei * BigInt(factorBps)) / BigInt(BPS), factorBps };
}
