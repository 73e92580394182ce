import type { Candidate, Requirements } from "./types";

/** 1 OGPU in wei. */
export const ONE = 10n ** 18n;

/** A candidate offer for tests: an online H100 80GB node in eu-west, 8 free GPUs at 2 OGPU, reputation 0.9. */
export function candidate(id: string, change: Partial<Candidate> = {}): Candidate {
  return {
    offerId: id,
    ordinal: 0,
    providerId: `p-${id}`,
    nodeId: `n-${id}`,
    gpuModel: "H100",
    vramGb: 80,
    priceWei: 2n * ONE,
    availableGpus: 8,
    region: "eu-west",
    measuredLatencyMs: null,
    reputation: 0.9,
    online: true,
    ...change,
  };
}

/** Requirements for tests: one GPU, anything else allowed, BALANCED, with `change` over them. */
export function requirements(change: Partial<Requirements> = {}): Requirements {
  return {
    gpuCount: 1,
    minVramGb: 0,
    gpuModels: null,
    region: null,
    maxLatencyMs: null,
    minReputation: null,
    maxPriceWei: null,
    redundancy: 1,
    strategy: "BALANCED",
    weights: null,
    ...change,
  };
}
