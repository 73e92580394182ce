import { MatchingError } from "./errors";
import type { MatchStrategy, MatchWeights } from "./types";

/** The weights each strategy stands for (price / latency / VRAM / reputation); each set sums to 1. */
export const STRATEGY_WEIGHTS: Readonly<Record<MatchStrategy, Readonly<MatchWeights>>> = Object.freeze({
  BALANCED: Object.freeze({ price: 0.4, latency: 0.2, vram: 0.1, reputation: 0.3 }),
  CHEAPEST: Object.freeze({ price: 0.85, latency: 0.05, vram: 0.05, reputation: 0.05 }),
  FASTEST: Object.freeze({ price: 0.15, latency: 0.7, vram: 0.05, reputation: 0.1 }),
  MOST_RELIABLE: Object.freeze({ price: 0.15, latency: 0.1, vram: 0.05, reputation: 0.7 }),
});

/**
 * The weights a job is scored with: explicit `weights` when given, else the strategy's, normalized to sum 1
 * (each divided by their sum). Throws INVALID_WEIGHTS when a weight is negative or not finite, when all are zero,
 * or when the strategy is unknown.
 */
export function resolveWeights(strategy: MatchStrategy, weights: MatchWeights | null): MatchWeights {
  const chosen = weights ?? STRATEGY_WEIGHTS[strategy];
  if (chosen === undefined) {
    throw new MatchingError("INVALID_WEIGHTS", `unknown strategy "${String(strategy)}"; use one of ${Object.keys(STRATEGY_WEIGHTS).join(", ")}`);
  }
  const { price, latency, vram, reputation } = chosen;
  for (const [name, w] of [["price", price], ["latency", latency], ["vram", vram], ["reputation", reputation]] as const) {
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new MatchingError("INVALID_WEIGHTS", `weights.${name} must be a finite number of zero or more, got ${w}`);
    }
  }
  const sum = price + latency + vram + reputation;
  if (sum <= 0) throw new MatchingError("INVALID_WEIGHTS", "weights must not all be zero; give at least one a positive weight");
  return { price: price / sum, latency: latency / sum, vram: vram / sum, reputation: reputation / sum };
}
