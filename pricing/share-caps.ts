import { PricingError } from "./errors";

const BPS = 10_000;

/**
 * The largest weight any one unit may keep so that no unit holds more than `maxShareBps` / 10000 of the capped total
 * ("water-filling"): with the units' weights W₁ ≥ W₂ ≥ … ≥ Wₙ, the least k for which
 *   cap = floor(maxShareBps × (Wₖ₊₁ + … + Wₙ) / (10000 − k × maxShareBps)) ≥ Wₖ₊₁
 * holds gives the cap; the k heaviest units are cut to it and the rest keep their weight. Then every unit's share of
 * Σ min(Wᵢ, cap) is at most maxShareBps / 10000 (exactly, as the cap is rounded down), a unit lighter than the cap
 * is never cut, and adding weight to one unit never raises another unit's cut.
 * Null when no cap can do it: fewer than 10000 / maxShareBps units with weight (n shares of at most s cannot make 1).
 * Units of weight 0 are ignored. Throws INVALID_QUANTITY unless maxShareBps is a whole number in [1, 10000] and
 * every weight is zero or more.
 */
export function shareCap(weights: Iterable<bigint>, maxShareBps: number): bigint | null {
  if (!Number.isInteger(maxShareBps) || maxShareBps < 1 || maxShareBps > BPS) {
    throw new PricingError("INVALID_QUANTITY", `maxShareBps must be a whole number from 1 to ${BPS}, got ${maxShareBps}`);
  }
  const sorted: bigint[] = [];
  for (const w of weights) {
    if (w < 0n) throw new PricingError("INVALID_QUANTITY", `a weight must be zero or more, got ${w}`);
    if (w > 0n) sorted.push(w);
  }
  sorted.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  let rest = sorted.reduce((sum, w) => sum + w, 0n);
  const share = BigInt(maxShareBps);
  for (let k = 0; k < sorted.length && k * maxShareBps < BPS; k++) {
    const cap = (share * rest) / (BigInt(BPS) - BigInt(k) * share);
    if (cap >= sorted[k]) return cap;
    rest -= sorted[k];
  }
  return null;
}

/**
 * Trade weights with each unit's total cut to `cap`: a trade of a unit whose weights sum to W > cap weighs
 * floor(w × cap / W), others keep theirs. `units[i]` names trade i's unit.
 */
export function capUnits(weights: readonly bigint[], units: readonly string[], cap: bigint): bigint[] {
  const totals = unitTotals(weights, units);
  if (![...totals.values()].some((total) => total > cap)) return [...weights];
  return weights.map((w, i) => {
    const total = totals.get(units[i])!;
    return total > cap ? (w * cap) / total : w;
  });
}

/** Total weight of each unit, `units[i]` naming trade i's unit. */
export function unitTotals(weights: readonly bigint[], units: readonly string[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  weights.forEach((w, i) => totals.set(units[i], (totals.get(units[i]) ?? 0n) + w));
  return totals;
}
