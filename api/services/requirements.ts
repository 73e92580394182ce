import { assertRequirements, isKnownGpuModel, normalizeGpuModel, regionById, resolveWeights, type MatchStrategy, type MatchWeights, type Requirements } from "../../matching";
import { MAX_PRICE_WEI } from "../../pricing";
import type { JobRecord } from "../db/repositories/job.repository";
import { badInput } from "./errors";
import type { ModelCatalog } from "./model-catalog";

/** Longest run a job may ask for: 30 days. */
export const MAX_JOB_DURATION_SECONDS = 30 * 86400;
export const MAX_GPU_MODELS = 16;

/** Requirements as clients send them (quote and submitJob). */
export interface RequirementsData {
  gpuCount: number;
  minVramGb: number;
  gpuModels?: readonly string[] | null;
  region?: string | null;
  maxLatencyMs?: number | null;
  minReputation?: number | null;
  maxPriceWei?: bigint | null;
  maxDurationSeconds: number;
  redundancy?: number | null;
  strategy?: MatchStrategy | null;
  weights?: { [K in keyof MatchWeights]?: number | null } | null;
}

export interface CheckedRequirements extends Requirements {
  maxDurationSeconds: number;
}

/**
 * Validates and normalizes requirements: models normalized (and known: in the catalog or offered by some node),
 * region on the list, latency bound only with a region, weights valid. `knownModels` are the models of existing
 * markets. Throws BAD_USER_INPUT (or a matching/ error mapped to it) naming the field.
 */
export function checkRequirements(input: RequirementsData, knownModels: ReadonlySet<string>, capRequired: boolean): CheckedRequirements {
  if (!Number.isInteger(input.maxDurationSeconds) || input.maxDurationSeconds < 1 || input.maxDurationSeconds > MAX_JOB_DURATION_SECONDS) {
    throw badInput(`requirements.maxDurationSeconds must be a whole number from 1 to ${MAX_JOB_DURATION_SECONDS}, got ${input.maxDurationSeconds}`);
  }
  const cap = input.maxPriceWei ?? null;
  if (cap === null && capRequired) throw badInput("requirements.maxPricePerGpuHour is required to submit a job: the most you pay per GPU-hour");
  if (cap !== null && cap <= 0n) throw badInput("requirements.maxPricePerGpuHour must be more than 0");
  if (cap !== null && cap > MAX_PRICE_WEI) throw badInput("requirements.maxPricePerGpuHour may be at most 1000000 OGPU per GPU-hour");
  let gpuModels: string[] | null = null;
  if (input.gpuModels && input.gpuModels.length > 0) {
    if (input.gpuModels.length > MAX_GPU_MODELS) throw badInput(`requirements.gpuModels may name at most ${MAX_GPU_MODELS} models`);
    gpuModels = [...new Set(input.gpuModels.map((m) => normalizeGpuModel(m)))].sort();
    const unknown = gpuModels.filter((m) => !isKnownGpuModel(m) && !knownModels.has(m));
    if (unknown.length > 0) throw badInput(`requirements.gpuModels: unknown GPU model ${unknown.join(", ")}; name models such as H100, A100, RTX4090`);
  }
  const region = input.region ? regionById(input.region).id : null;
  const maxLatencyMs = input.maxLatencyMs ?? null;
  if (maxLatencyMs !== null && region === null) throw badInput("requirements.maxLatencyMs needs requirements.region: latency is measured from there");
  const strategy = input.strategy ?? "BALANCED";
  const w = input.weights;
  const weights = w ? resolveWeights(strategy, { price: w.price ?? 0, latency: w.latency ?? 0, vram: w.vram ?? 0, reputation: w.reputation ?? 0 }) : null;
  const req: CheckedRequirements = {
    gpuCount: input.gpuCount,
    minVramGb: input.minVramGb,
    gpuModels,
    region,
    maxLatencyMs,
    minReputation: input.minReputation ?? null,
    maxPriceWei: cap,
    redundancy: input.redundancy ?? 1,
    strategy,
    weights,
    maxDurationSeconds: input.maxDurationSeconds,
  };
  assertRequirements(req);
  return req;
}

/** The models of existing markets, as far as `input` needs them (catalog models need no lookup). */
export function knownModelsFor(catalog: ModelCatalog, input: RequirementsData): Promise<ReadonlySet<string>> {
  const wanted = (input.gpuModels ?? []).map((m) => normalizeGpuModel(m)).filter((m) => !isKnownGpuModel(m));
  return catalog.known(wanted);
}

/** The requirements a stored job matches with. */
export function requirementsOf(job: JobRecord): CheckedRequirements {
  return {
    gpuCount: job.gpuCount,
    minVramGb: job.minVramGb,
    gpuModels: job.gpuModels,
    region: job.region,
    maxLatencyMs: job.maxLatencyMs,
    minReputation: job.minReputation,
    maxPriceWei: job.maxPriceWei,
    redundancy: job.redundancy,
    strategy: job.strategy,
    weights: job.weights,
    maxDurationSeconds: job.maxDurationSeconds,
  };
}
