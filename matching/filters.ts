import { regionIndexOf, tableLatencyMs } from "./latency-table";
import type { Candidate, ExclusionReason, Requirements } from "./types";

/**
 * The latency in ms between a job's region and an offer's node: the node's measured figure when it has one, else
 * estimateLatencyMs(job region, node region) (5 ms + great-circle km / 100). Null when the job names no region.
 * Throws UNKNOWN_REGION for a region not on the list.
 */
export function latencyMsOf(c: Candidate, jobRegion: string | null): number | null {
  if (jobRegion === null) return null;
  if (c.measuredLatencyMs !== null) return c.measuredLatencyMs;
  return tableLatencyMs(regionIndexOf(jobRegion), regionIndexOf(c.region));
}

/** Whether `gpuModel` is acceptable to a job: any model when the job names none (null or empty). */
export function acceptsModel(req: Requirements, gpuModel: string): boolean {
  return req.gpuModels === null || req.gpuModels.length === 0 || req.gpuModels.includes(gpuModel);
}

/**
 * The first hard filter an offer fails for a job, in this fixed order: SELF_TRADE (the provider is the client or an
 * account related to it, req.selfAccounts), OFFLINE (node offline), MODEL (not one of
 * req.gpuModels), VRAM (vramGb < minVramGb), GPU_COUNT (availableGpus < gpuCount), LATENCY (latencyMsOf >
 * maxLatencyMs; only when the job gives both a region and maxLatencyMs), REPUTATION (reputation < minReputation),
 * STAKE (stakeWei below minStakeWei, when the marketplace sets a minimum), PRICE (priceWei > maxPriceWei),
 * SAME_PROVIDER (providerId in excludeProviders). Null when the offer is eligible.
 */
export function exclusionOf(c: Candidate, req: Requirements, excludeProviders?: ReadonlySet<string>): ExclusionReason | null {
  if (req.selfAccounts && req.selfAccounts.has(c.providerId)) return "SELF_TRADE";
  if (!c.online) return "OFFLINE";
  if (!acceptsModel(req, c.gpuModel)) return "MODEL";
  if (c.vramGb < req.minVramGb) return "VRAM";
  if (c.availableGpus < req.gpuCount) return "GPU_COUNT";
  if (req.maxLatencyMs !== null && req.region !== null && (latencyMsOf(c, req.region) as number) > req.maxLatencyMs) return "LATENCY";
  if (req.minReputation !== null && c.reputation < req.minReputation) return "REPUTATION";
  if (req.minStakeWei !== undefined && req.minStakeWei !== null && (c.stakeWei ?? 0n) < req.minStakeWei) return "STAKE";
  if (req.maxPriceWei !== null && c.priceWei > req.maxPriceWei) return "PRICE";
  if (excludeProviders !== undefined && excludeProviders.has(c.providerId)) return "SAME_PROVIDER";
  return null;
}
