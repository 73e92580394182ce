import { PricingError } from "./errors";

/**
 * A job resting on the bid side as demand sees it: GPUs it wants over all replicas (gpuCount × redundancy), the
 * escrow it holds in wei, and since when it has been on the book (Unix ms: its submission, or the end of its latest
 * run when it came back to the book after one).
 */
export interface RestingBid {
  gpus: number;
  holdWei: bigint;
  restingSinceMs: number;
}

/** A bid that has rested this long or less weighs nothing (1 minute). */
export const MIN_REST_MS = 60_000;
/** A bid weighs fully once it has rested this long (10 minutes); in between its weight grows linearly. */
export const FULL_REST_MS = 600_000;
/** Escrow, counted in hours of a GPU at the reference price, that backs one GPU of demand fully (1 hour). */
export const BACKING_GPU_HOURS = 1n;
const MICRO = 1_000_000n;

/** The share of a bid's backed GPUs that counts after resting `restMs`: clamp((restMs − 1 min) / 9 min, 0, 1). */
export function restFactor(restMs: number): number {
  if (!(restMs > MIN_REST_MS)) return 0;
  return Math.min(1, (restMs - MIN_REST_MS) / (FULL_REST_MS - MIN_REST_MS));
}

/**
 * GPUs of demand one resting bid adds to the suggested price as of `nowMs`:
 *   backed = min(gpus, holdWei / (referenceWei × BACKING_GPU_HOURS)), in millionths of a GPU, rounded down:
 *            the GPU-hours its escrow buys at the reference price, at most its GPUs;
 *   weight = backed × {@link restFactor}(nowMs − restingSinceMs).
 * So what counts is escrow held over time, not the GPUs typed on a form: a bid without escrow, or that rested
 * {@link MIN_REST_MS} or less, weighs 0; a bid of any size weighs at most one GPU per reference GPU-hour it holds;
 * a bid at a cap far below the reference holds (and weighs) proportionally less. At most `gpus`, never negative.
 * With referenceWei 0 a bid counts its GPUs as backed. Throws INVALID_QUANTITY on negative or non-finite GPUs, a
 * negative hold or reference, INVALID_TIME on non-finite times.
 */
export function bidDemandGpus(bid: RestingBid, referenceWei: bigint, nowMs: number): number {
  if (!Number.isFinite(bid.gpus) || bid.gpus < 0) throw new PricingError("INVALID_QUANTITY", `a bid's GPUs must be zero or more, got ${bid.gpus}`);
  if (bid.holdWei < 0n) throw new PricingError("NEGATIVE_AMOUNT", `a bid's hold must be zero or more, got ${bid.holdWei}`);
  if (referenceWei < 0n) throw new PricingError("NEGATIVE_AMOUNT", `referenceWei must be zero or more, got ${referenceWei}`);
  if (!Number.isFinite(nowMs) || !Number.isFinite(bid.restingSinceMs)) {
    throw new PricingError("INVALID_TIME", `times must be finite milliseconds, got now ${nowMs} and resting since ${bid.restingSinceMs}`);
  }
  const rest = restFactor(nowMs - bid.restingSinceMs);
  if (rest === 0 || bid.gpus === 0) return 0;
  const backed = referenceWei === 0n ? bid.gpus : Math.min(bid.gpus, Number((bid.holdWei * MICRO) / (referenceWei * BACKING_GPU_HOURS)) / Number(MICRO));
  return backed * rest;
}

/**
 * Demand in GPUs for the suggested price: Σ {@link bidDemandGpus} over the resting bids. Bound for spoofing: bids
 * that rest at most {@link MIN_REST_MS}, or hold no escrow, add exactly 0, so the suggested price is unchanged; in
 * general bids adding S GPUs of demand to a book of b GPUs of demand and a GPUs offered (a + b > 0) move the
 * suggested price by at most (S / (a + b) + 1 / 5000) × the price before, plus 1 wei: the imbalance moves by at most
 * 2S / (a + b), the factor by a quarter of that (and 1 bps of rounding), and the factor is at least 0.5.
 */
export function demandGpus(bids: readonly RestingBid[], referenceWei: bigint, nowMs: number): number {
  let total = 0;
  for (const bid of bids) total += bidDemandGpus(bid, referenceWei, nowMs);
  return total;
}
