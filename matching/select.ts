import { exclusionOf } from "./filters";
import { createScorer } from "./score";
import type { Candidate, Requirements } from "./types";
import { resolveWeights } from "./weights";

/** Orders ranked offers: score ascending, then ordinal ascending (earlier posting first), then offerId. */
export function compareRanked(aScore: number, a: Candidate, bScore: number, b: Candidate): number {
  if (aScore !== bScore) return aScore < bScore ? -1 : 1;
  if (a.ordinal !== b.ordinal) return a.ordinal < b.ordinal ? -1 : 1;
  return a.offerId < b.offerId ? -1 : a.offerId > b.offerId ? 1 : 0;
}

/**
 * The eligible offers (exclusionOf === null) best first: by scoreOf with resolveWeights(req.strategy, req.weights)
 * ascending, ties by ordinal ascending, then offerId. Deterministic: the order of the input does not matter. A full
 * scan and sort, O(n log n): the baseline OfferIndex is measured against.
 */
export function rankCandidates(candidates: readonly Candidate[], req: Requirements, excludeProviders?: ReadonlySet<string>): Candidate[] {
  const score = createScorer(req, resolveWeights(req.strategy, req.weights));
  const ranked: { c: Candidate; s: number }[] = [];
  for (const c of candidates) if (exclusionOf(c, req, excludeProviders) === null) ranked.push({ c, s: score(c) });
  ranked.sort((a, b) => compareRanked(a.s, a.c, b.s, b.c));
  return ranked.map((r) => r.c);
}

/**
 * Up to `count` offers (default req.redundancy), each from a different provider: rankCandidates' order taken greedily,
 * skipping an offer whose provider is already chosen. Every offer returned passes every hard filter, so it has at
 * least req.gpuCount GPUs free and is within the cap.
 */
export function selectOffers(
  candidates: readonly Candidate[],
  req: Requirements,
  opts?: { excludeProviders?: ReadonlySet<string>; count?: number },
): Candidate[] {
  const count = opts?.count ?? req.redundancy;
  const chosen: Candidate[] = [];
  if (count <= 0) return chosen;
  const providers = new Set<string>();
  for (const c of rankCandidates(candidates, req, opts?.excludeProviders)) {
    if (providers.has(c.providerId)) continue;
    providers.add(c.providerId);
    chosen.push(c);
    if (chosen.length >= count) break;
  }
  return chosen;
}
