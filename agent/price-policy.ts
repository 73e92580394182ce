/** How the agent prices its offer, in wei per GPU-hour. */
export type PricePolicy = { kind: "fixed"; priceWei: bigint } | { kind: "follow"; floorWei: bigint; ceilingWei: bigint };

/** Smallest relative change, in basis points, that moves a market-following price (1%). */
export const REPRICE_HYSTERESIS_BPS = 100n;

/**
 * The price an offer should move to, or null to leave it. Fixed: the fixed price whenever the current one
 * differs. Follow: target = clamp(suggestedWei ?? floorWei, floorWei, ceilingWei); the offer moves when it has
 * no price yet, when its price is outside [floor, ceiling], or when the target differs from it by at least 1%
 * of the current price (hysteresis, so a market that wobbles does not reprice every round).
 */
export function nextPrice(policy: PricePolicy, suggestedWei: bigint | null, currentWei: bigint | null): bigint | null {
  if (policy.kind === "fixed") return currentWei === policy.priceWei ? null : policy.priceWei;
  const wanted = suggestedWei ?? policy.floorWei;
  const target = wanted < policy.floorWei ? policy.floorWei : wanted > policy.ceilingWei ? policy.ceilingWei : wanted;
  if (currentWei === null || currentWei < policy.floorWei || currentWei > policy.ceilingWei) {
    return target === currentWei ? null : target;
  }
  const diff = target > currentWei ? target - currentWei : currentWei - target;
  if (diff === 0n) return null;
  return diff * 10_000n >= currentWei * REPRICE_HYSTERESIS_BPS ? target : null;
}
