import { exclusionOf } from "./filters";
import type { Candidate, Requirements } from "./types";

/** A job resting on the bid side: its id, its place in submission order (lower = earlier) and what it needs. */
export interface RestingBid {
  jobId: string;
  ordinal: number;
  requirements: Requirements;
}

function compareBids(a: RestingBid, b: RestingBid): number {
  const pa = a.requirements.maxPriceWei;
  const pb = b.requirements.maxPriceWei;
  if (pa !== pb) {
    if (pa === null) return 1;
    if (pb === null) return -1;
    return pa > pb ? -1 : 1;
  }
  if (a.ordinal !== b.ordinal) return a.ordinal < b.ordinal ? -1 : 1;
  return a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0;
}

/**
 * Resting bids in the order a new or repriced offer serves them: highest maxPriceWei first (bids without a cap
 * last), then oldest (ordinal ascending), then jobId. Deterministic; the input is not modified.
 */
export function rankRestingBids(bids: readonly RestingBid[]): RestingBid[] {
  return [...bids].sort(compareBids);
}

/**
 * The bids one offer serves: in rankRestingBids order, each bid the offer is eligible for
 * (exclusionOf(offer, bid.requirements) === null) and whose gpuCount still fits the offer's remaining GPUs, taken
 * greedily; a bid that does not fit is skipped and later, smaller ones may still be served. The GPUs of the bids
 * returned sum to at most offer.availableGpus.
 */
export function bidsServedBy(offer: Candidate, bids: readonly RestingBid[]): RestingBid[] {
  const served: RestingBid[] = [];
  let freeGpus = offer.availableGpus;
  for (const bid of rankRestingBids(bids)) {
    if (freeGpus <= 0) break;
    if (bid.requirements.gpuCount > freeGpus) continue;
    if (exclusionOf(offer, bid.requirements) !== null) continue;
    served.push(bid);
    freeGpus -= bid.requirements.gpuCount;
  }
  return served;
}
