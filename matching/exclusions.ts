import { rankCandidates } from "./select";
import { exclusionOf } from "./filters";
import type { Candidate, Exclusion, ExclusionReason, Requirements } from "./types";

function offers(n: number): string {
  return n === 1 ? "1 offer" : `${n} offers`;
}

function listOf(models: readonly string[]): string {
  return models.length <= 1 ? models.join("") : `${models.slice(0, -1).join(", ")} or ${models[models.length - 1]}`;
}

function priceExcessPercent(priceWei: bigint, capWei: bigint): bigint {
  return ((priceWei - capWei) * 100n + capWei - 1n) / capWei;
}

function messageOf(reason: ExclusionReason, n: number, req: Requirements, maxExcessPercent: bigint): string {
  const one = n === 1;
  switch (reason) {
    case "OFFLINE":
      return `${offers(n)} on ${one ? "an offline node" : "offline nodes"}`;
    case "MODEL":
      return `${offers(n)} not of model ${listOf(req.gpuModels ?? [])}`;
    case "VRAM":
      return `${offers(n)} below ${req.minVramGb} GB VRAM`;
    case "GPU_COUNT":
      return req.gpuCount <= 1 ? `${offers(n)} with no free GPUs` : `${offers(n)} with fewer than ${req.gpuCount} free GPUs`;
    case "LATENCY":
      return `${offers(n)} over ${req.maxLatencyMs} ms away`;
    case "REPUTATION":
      return `${offers(n)} below reputation ${req.minReputation}`;
    case "PRICE":
      return req.maxPriceWei === 0n
        ? `${offers(n)} above your price cap of 0`
        : `${offers(n)} above your price cap by ${maxExcessPercent}% or less`;
    case "STAKE":
      return `${offers(n)} from ${one ? "a provider" : "providers"} without enough stake`;
    case "SAME_PROVIDER":
      return `${offers(n)} from ${one ? "a provider" : "providers"} already running this job`;
    case "SELF_TRADE":
      return `${offers(n)} of your own account or an account related to it (self-trade prevention)`;
  }
}

/**
 * Why offers cannot serve a job: each ineligible candidate counted once, under its first failing reason
 * (exclusionOf), one Exclusion per reason with offers > 0, ordered by offers descending then reason name.
 * Messages are sentences with the job's own bounds and singular or plural as the count needs, e.g.
 * "14 offers below 40 GB VRAM", "1 offer on an offline node", "2 offers with fewer than 4 free GPUs",
 * "5 offers not of model H100 or A100", "4 offers over 80 ms away", "1 offer below reputation 0.8",
 * "6 offers above your price cap by 12% or less" (the percent is the largest excess among them, rounded up),
 * "2 offers from providers already running this job".
 */
export function explainExclusions(candidates: readonly Candidate[], req: Requirements, excludeProviders?: ReadonlySet<string>): Exclusion[] {
  const counts = new Map<ExclusionReason, number>();
  let maxExcessPercent = 0n;
  for (const c of candidates) {
    const reason = exclusionOf(c, req, excludeProviders);
    if (reason === null) continue;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
    if (reason === "PRICE" && req.maxPriceWei !== null && req.maxPriceWei > 0n) {
      const excess = priceExcessPercent(c.priceWei, req.maxPriceWei);
      if (excess > maxExcessPercent) maxExcessPercent = excess;
    }
  }
  return [...counts]
    .map(([reason, n]) => ({ reason, offers: n, message: messageOf(reason, n, req, maxExcessPercent) }))
    .sort((a, b) => b.offers - a.offers || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/**
 * Why a job cannot be placed now: each offer under its first failing filter, and, when the offers that pass
 * come from fewer providers than the job's redundancy needs, the repeats as SAME_PROVIDER.
 */
export function explainShortfall(open: readonly Candidate[], req: Requirements, busyProviders?: ReadonlySet<string>): Exclusion[] {
  const excluded = explainExclusions(open, req, busyProviders);
  const eligible = rankCandidates(open, req, busyProviders);
  const providers = new Set(eligible.map((c) => c.providerId)).size;
  if (eligible.length > 0 && providers < req.redundancy) {
    const repeats = eligible.length - providers;
    const offers = repeats === 1 ? "1 offer" : `${repeats} offers`;
    excluded.push({
      reason: "SAME_PROVIDER",
      offers: repeats,
      message: `${offers} from providers already chosen: redundancy ${req.redundancy} needs ${req.redundancy} distinct providers and ${providers} can serve it`,
    });
  }
  return excluded;
}
