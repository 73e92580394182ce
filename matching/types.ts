/** How a job weighs price, latency, VRAM fit and reputation when no explicit weights are given. */
export type MatchStrategy = "BALANCED" | "CHEAPEST" | "FASTEST" | "MOST_RELIABLE";

/** Why an offer cannot serve a job; the first failing hard filter names it (see exclusionOf). */
export type ExclusionReason = "GPU_COUNT" | "VRAM" | "MODEL" | "LATENCY" | "PRICE" | "REPUTATION" | "STAKE" | "OFFLINE" | "SAME_PROVIDER" | "SELF_TRADE";

/** Relative weights of the score's components; zero or more, normalized to sum 1 before use. */
export interface MatchWeights {
  price: number;
  latency: number;
  vram: number;
  reputation: number;
}

/**
 * An open offer as matching sees it. `ordinal` is the posting order (lower = earlier) and breaks ties; `gpuModel` is
 * normalized ("H100"); `priceWei` is the ask in wei per GPU-hour; `availableGpus` the GPUs still free;
 * `measuredLatencyMs` the node's measured round trip when it has one; `reputation` in [0, 1].
 */
export interface Candidate {
  offerId: string;
  ordinal: number;
  providerId: string;
  nodeId: string;
  gpuModel: string;
  vramGb: number;
  priceWei: bigint;
  availableGpus: number;
  region: string;
  measuredLatencyMs: number | null;
  reputation: number;
  online: boolean;
  /** The provider's stake in wei (0 when unknown); only the minimum-stake filter reads it. */
  stakeWei?: bigint;
}

/**
 * What a job needs: GPUs per replica, minimum VRAM per GPU in GB, acceptable models (normalized; null or empty = any),
 * the region latency is measured from, bounds on latency (ms), reputation and price (wei per GPU-hour), how many
 * distinct providers run it, and how offers are ranked (explicit weights win over the strategy).
 */
export interface Requirements {
  gpuCount: number;
  minVramGb: number;
  gpuModels: readonly string[] | null;
  region: string | null;
  maxLatencyMs: number | null;
  minReputation: number | null;
  maxPriceWei: bigint | null;
  redundancy: number;
  strategy: MatchStrategy;
  weights: MatchWeights | null;
  /** The marketplace's minimum provider stake in wei (a policy, not a client's input); null or absent = none. */
  minStakeWei?: bigint | null;
  /**
   * The client's own account and the accounts related to it (self-trade prevention, a policy the marketplace fills
   * in, not a client's input): offers of these providers are SELF_TRADE. Null or absent = none.
   */
  selfAccounts?: ReadonlySet<string> | null;
}

/** One reason offers were excluded from a job, how many, and a sentence for people. */
export interface Exclusion {
  reason: ExclusionReason;
  offers: number;
  message: string;
}
