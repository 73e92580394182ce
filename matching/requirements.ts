import { MatchingError } from "./errors";
import { MAX_VRAM_GB } from "./market-id";
import { regionById } from "./regions";
import type { Requirements } from "./types";
import { resolveWeights } from "./weights";

/** Most GPUs one replica of a job may ask for. */
export const MAX_GPU_COUNT = 1024;
/** Most distinct providers one job may run on. */
export const MAX_REDUNDANCY = 10;

function invalid(message: string): MatchingError {
  return new MatchingError("INVALID_REQUIREMENTS", `requirements.${message}`);
}

function assertWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/**
 * Checks requirements before matching: gpuCount a whole number 1..{@link MAX_GPU_COUNT}; minVramGb a whole number
 * 0..MAX_VRAM_GB; gpuModels, when given, non-empty names; maxLatencyMs a positive whole number when given;
 * minReputation in [0, 1]; maxPriceWei ≥ 0; redundancy a whole number 1..{@link MAX_REDUNDANCY}; strategy and
 * weights valid (resolveWeights). Throws MatchingError INVALID_REQUIREMENTS naming the field
 * ("requirements.gpuCount must be a whole number from 1 to 1024, got 0"), INVALID_WEIGHTS, or UNKNOWN_REGION for a
 * region not on the list.
 */
export function assertRequirements(req: Requirements): void {
  assertWhole("gpuCount", req.gpuCount, 1, MAX_GPU_COUNT);
  assertWhole("minVramGb", req.minVramGb, 0, MAX_VRAM_GB);
  if (req.gpuModels !== null) {
    for (const m of req.gpuModels) {
      if (typeof m !== "string" || m.length === 0) throw invalid(`gpuModels must name models such as "H100", got ${JSON.stringify(m)}`);
    }
  }
  if (req.region !== null) regionById(req.region);
  if (req.maxLatencyMs !== null && (!Number.isInteger(req.maxLatencyMs) || req.maxLatencyMs < 1)) {
    throw invalid(`maxLatencyMs must be a whole number of milliseconds above 0, got ${req.maxLatencyMs}`);
  }
  if (req.minReputation !== null && !(req.minReputation >= 0 && req.minReputation <= 1)) {
    throw invalid(`minReputation must be a number from 0 to 1, got ${req.minReputation}`);
  }
  if (req.maxPriceWei !== null && req.maxPriceWei < 0n) throw invalid(`maxPriceWei must be zero or more, got ${req.maxPriceWei}`);
  assertWhole("redundancy", req.redundancy, 1, MAX_REDUNDANCY);
  resolveWeights(req.strategy, req.weights);
}
