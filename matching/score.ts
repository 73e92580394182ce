import { latencyMsOf } from "./filters";
import type { Candidate, MatchWeights, Requirements } from "./types";

/** Price that scores 0.5 when a job gives no cap: 1 OGPU per GPU-hour, in wei. */
export const PRICE_REF_WEI = 10n ** 18n;
/** Latency at and beyond which the latency component is 1, in ms. */
export const LATENCY_REF_MS = 300;
const PRICE_REF = Number(PRICE_REF_WEI);

/**
 * Price component in [0, 1] of an ask (a float of wei per GPU-hour, Number(priceWei)): with a cap,
 * min(1, price / cap) (0 for a zero price under a zero cap, else 1); without one, price / (price + {@link PRICE_REF_WEI}),
 * computed as 1 − ref / (price + ref). Monotone non-decreasing in the price, float rounding included.
 */
export function priceComponent(price: number, cap: number | null): number {
  if (cap === null) return 1 - PRICE_REF / (price + PRICE_REF);
  if (cap <= 0) return price > 0 ? 1 : 0;
  return Math.min(1, price / cap);
}

/** Latency component in [0, 1]: min(1, latencyMs / {@link LATENCY_REF_MS}); 0 when there is no latency (no job region). */
export function latencyComponent(latencyMs: number | null): number {
  return latencyMs === null ? 0 : Math.min(1, latencyMs / LATENCY_REF_MS);
}

/** VRAM component in [0, 1): the share of the GPU's memory the job leaves unused, (vramGb − minVramGb) / vramGb, at least 0. */
export function vramComponent(vramGb: number, minVramGb: number): number {
  return vramGb <= 0 ? 0 : Math.max(0, (vramGb - minVramGb) / vramGb);
}

/** Reputation component in [0, 1]: 1 − reputation, with reputation clamped to [0, 1]. */
export function reputationComponent(reputation: number): number {
  return 1 - Math.min(1, Math.max(0, reputation));
}

/**
 * Builds the scorer of one job: {@link scoreOf} with the job's cap and region read once. The same candidate always
 * gets the same float, bit for bit, as from scoreOf.
 */
export function createScorer(req: Requirements, weights: MatchWeights): (c: Candidate) => number {
  const cap = req.maxPriceWei === null ? null : Number(req.maxPriceWei);
  const { price: wp, latency: wl, vram: wv, reputation: wr } = weights;
  return (c) =>
    wp * priceComponent(Number(c.priceWei), cap) +
    wl * latencyComponent(latencyMsOf(c, req.region)) +
    wv * vramComponent(c.vramGb, req.minVramGb) +
    wr * reputationComponent(c.reputation);
}

/**
 * An offer's score for a job; lower is better. score = w.price × price + w.latency × latency + w.vram × vram +
 * w.reputation × reputation, summed in that order, each component in [0, 1] and depending on this offer and the job
 * only, never on other offers (so lower bounds over groups of offers hold):
 * - price: min(1, priceWei / maxPriceWei), or priceWei / (priceWei + {@link PRICE_REF_WEI}) without a cap;
 * - latency: min(1, latencyMsOf / {@link LATENCY_REF_MS}), 0 when the job has no region;
 * - vram: (vramGb − minVramGb) / vramGb, memory paid for and not needed;
 * - reputation: 1 − reputation.
 * Monotone non-decreasing in the price, latency, and VRAM, non-increasing in reputation, with the rest fixed.
 * `weights` are used as given (see resolveWeights).
 */
export function scoreOf(c: Candidate, req: Requirements, weights: MatchWeights): number {
  return createScorer(req, weights)(c);
}
