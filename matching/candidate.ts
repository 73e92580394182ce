import { MatchingError } from "./errors";
import { MAX_VRAM_GB } from "./market-id";
import { regionIndexOf } from "./latency-table";
import type { Candidate } from "./types";

function invalid(c: Candidate, message: string): MatchingError {
  return new MatchingError("INVALID_CANDIDATE", `offer ${String(c.offerId).slice(0, 64)}: ${message}`);
}

/**
 * Checks an offer before it enters an OfferIndex: ids non-empty, ordinal finite, vramGb a whole number
 * 1..MAX_VRAM_GB, priceWei ≥ 0, availableGpus a whole number ≥ 0, measuredLatencyMs null or a finite number ≥ 0,
 * reputation in [0, 1]. Throws INVALID_CANDIDATE naming the field, or UNKNOWN_REGION for a region not on the list.
 */
export function assertCandidate(c: Candidate): void {
  for (const field of ["offerId", "providerId", "nodeId", "gpuModel"] as const) {
    if (typeof c[field] !== "string" || c[field].length === 0) throw invalid(c, `${field} must be a non-empty string`);
  }
  if (!Number.isFinite(c.ordinal)) throw invalid(c, `ordinal must be a finite number, got ${c.ordinal}`);
  if (!Number.isInteger(c.vramGb) || c.vramGb < 1 || c.vramGb > MAX_VRAM_GB) throw invalid(c, `vramGb must be a whole number from 1 to ${MAX_VRAM_GB}, got ${c.vramGb}`);
  if (typeof c.priceWei !== "bigint" || c.priceWei < 0n) throw invalid(c, `priceWei must be zero or more, got ${c.priceWei}`);
  if (!Number.isSafeInteger(c.availableGpus) || c.availableGpus < 0) throw invalid(c, `availableGpus must be a whole number of zero or more, got ${c.availableGpus}`);
  if (c.measuredLatencyMs !== null && !(Number.isFinite(c.measuredLatencyMs) && c.measuredLatencyMs >= 0)) {
    throw invalid(c, `measuredLatencyMs must be null or zero or more, got ${c.measuredLatencyMs}`);
  }
  if (!(c.reputation >= 0 && c.reputation <= 1)) throw invalid(c, `reputation must be a number from 0 to 1, got ${c.reputation}`);
  regionIndexOf(c.region);
}
