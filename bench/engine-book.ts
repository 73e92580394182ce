/**
 * Deterministic books and jobs for bench/engine.ts: a seeded PRNG (mulberry32), offers over 8 markets and the 16
 * regions, and job requirements in the mix the engine sees (mostly BALANCED, some regional, some redundant).
 */
import { REGIONS, reputationOf, type Candidate, type MatchStrategy, type Requirements } from "../matching";

export type Random = () => number;

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence. Returns floats in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
const MILLI = 10n ** 15n;

/** The markets of the bench book, with a typical ask in thousandths of an OGPU per GPU-hour. */
export const BENCH_MARKETS = [
  { gpuModel: "H100", vramGb: 80, baseMilli: 2500 },
  { gpuModel: "H200", vramGb: 141, baseMilli: 3500 },
  { gpuModel: "A100", vramGb: 80, baseMilli: 1600 },
  { gpuModel: "A100", vramGb: 40, baseMilli: 1200 },
  { gpuModel: "L40S", vramGb: 48, baseMilli: 1000 },
  { gpuModel: "RTXA6000", vramGb: 48, baseMilli: 700 },
  { gpuModel: "RTX4090", vramGb: 24, baseMilli: 450 },
  { gpuModel: "MI300X", vramGb: 192, baseMilli: 2800 },
] as const;

/**
 * `offers` offers from offers / 20 providers, each with a reputation from a random record (newcomers at 0.5, most
 * between 0.8 and 0.99), nodes in one or two home regions, 30% of nodes with a measured latency (5 to 250 ms), asks
 * spread ±30% around the market's typical price in steps of 0.001 OGPU (so prices tie), 1 to 8 GPUs free, 3% offline.
 */
export function buildBook(offers: number, seed: number): Candidate[] {
  const rnd = seededRandom(seed);
  const providers = Array.from({ length: Math.max(2, Math.floor(offers / 20)) }, (_, i) => {
    const newcomer = rnd() < 0.1;
    const completed = newcomer ? 0 : Math.floor(rnd() * 400);
    const failed = newcomer ? 0 : Math.floor(rnd() * rnd() * 40);
    const reputation = reputationOf({ completed, failed, expired: Math.floor(rnd() * 5), rejected: rnd() < 0.2 ? Math.floor(rnd() * 6) : 0 });
    const regions = [pick(rnd, REGIONS).id, pick(rnd, REGIONS).id];
    return { id: `prov-${i}`, reputation, regions };
  });
  const book: Candidate[] = [];
  for (let i = 0; i < offers; i++) {
    const provider = pick(rnd, providers);
    const market = pick(rnd, BENCH_MARKETS);
    const nodeNo = Math.floor(rnd() * 8);
    const measured = rnd() < 0.3 ? 5 + Math.round(rnd() * 245) : null;
    book.push({
      offerId: `offer-${i}`,
      ordinal: i,
      providerId: provider.id,
      nodeId: `${provider.id}-node-${nodeNo}`,
      gpuModel: market.gpuModel,
      vramGb: market.vramGb,
      priceWei: BigInt(Math.round(market.baseMilli * (0.7 + 0.6 * rnd()))) * MILLI,
      availableGpus: pick(rnd, [1, 1, 1, 2, 2, 4, 4, 8]),
      region: provider.regions[nodeNo % 2],
      measuredLatencyMs: measured,
      reputation: provider.reputation,
      online: rnd() >= 0.03,
    });
  }
  return book;
}

/**
 * `count` jobs: strategy BALANCED 70%, CHEAPEST, FASTEST and MOST_RELIABLE 10% each; 1 GPU (half), 2, 4 or 8; a
 * minimum VRAM of 0, 24, 40 or 80 GB; 30% naming one or two models; 40% with a region, 60% of those with a latency
 * bound of 50 to 150 ms; a cap of 0.9 to 1.5 × a market's typical price on 80%; a minimum reputation on 30%;
 * redundancy 2 on 15%.
 */
export function buildJobs(count: number, seed: number): Requirements[] {
  const rnd = seededRandom(seed);
  const strategies: MatchStrategy[] = ["BALANCED", "BALANCED", "BALANCED", "BALANCED", "BALANCED", "BALANCED", "BALANCED", "CHEAPEST", "FASTEST", "MOST_RELIABLE"];
  const jobs: Requirements[] = [];
  for (let i = 0; i < count; i++) {
    const market = pick(rnd, BENCH_MARKETS);
    const named = rnd() < 0.3;
    const gpuModels = named ? [...new Set([market.gpuModel, ...(rnd() < 0.5 ? [pick(rnd, BENCH_MARKETS).gpuModel] : [])])] : null;
    const region = rnd() < 0.4 ? pick(rnd, REGIONS).id : null;
    jobs.push({
      gpuCount: pick(rnd, [1, 1, 1, 1, 2, 2, 4, 8]),
      minVramGb: named ? 0 : pick(rnd, [0, 24, 40, 80]),
      gpuModels,
      region,
      maxLatencyMs: region !== null && rnd() < 0.6 ? 50 + Math.floor(rnd() * 101) : null,
      minReputation: rnd() < 0.3 ? pick(rnd, [0.6, 0.7, 0.8]) : null,
      maxPriceWei: rnd() < 0.8 ? BigInt(Math.round(market.baseMilli * (0.9 + 0.6 * rnd()))) * MILLI : null,
      redundancy: rnd() < 0.15 ? 2 : 1,
      strategy: pick(rnd, strategies),
      weights: null,
    });
  }
  return jobs;
}
