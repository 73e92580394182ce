import { PricingError } from "./errors";
import { decayWeight, type TradePoint } from "./reference";
import { capUnits, shareCap, unitTotals } from "./share-caps";

/**
 * A trade with its two sides: the group (see `relatedGroups`) of the client account that bought and of the provider
 * account that sold. Trades whose two groups are the same are between related accounts.
 */
export interface PartyTrade extends TradePoint {
  clientGroup: string;
  providerGroup: string;
}

/** Most share of the reference's weight one client group, one provider group or one pair of groups may hold: 20%. */
export const MAX_SHARE_BPS = 2_000;
/** Half-width of the band around the weighted median that trade prices are clipped to: ±10%. */
export const CLIP_BAND_BPS = 1_000;
/**
 * Every trade's weight is multiplied by this before the caps, so that cutting a unit to the weight of a light one
 * (thin markets) leaves whole numbers that still tell trades apart.
 */
export const CAP_PRECISION = 10n ** 18n;
const BPS = 10_000n;

/** Whether a trade counts for reference prices: its client and provider are not related (not the same group). */
export function isArmsLength(trade: PartyTrade): boolean {
  return trade.clientGroup !== trade.providerGroup;
}

const pairOf = (t: PartyTrade) => (t.clientGroup < t.providerGroup ? `${t.clientGroup}\u0000${t.providerGroup}` : `${t.providerGroup}\u0000${t.clientGroup}`);

/**
 * The weights the robust reference gives `trades` (one per trade, in order) as of `nowMs`:
 * 1. a trade between related accounts, with no GPUs, or after nowMs weighs 0; the others start at
 *    gpus × decayWeight(nowMs − executedAt, halfLifeMs) × {@link CAP_PRECISION} (the EWMA's decay: half every half-life);
 * 2. client groups: when there are at least 10000 / {@link MAX_SHARE_BPS} (5) of them, each group's total is cut to
 *    the `shareCap` that leaves none above 20% of the total (a group's trades scaled down alike); with fewer, a single
 *    buyer may be the whole market and nothing is cut;
 * 3. provider groups: the same, on the weights after step 2;
 * 4. pairs of groups (client and provider, either way round): the same cap when there are at least 5 pairs; with
 *    fewer, every pair is cut to the weight of the lightest pair, so each pair is one equal vote.
 * After step 4 no pair holds more than max(20%, 1 / pairs) of the total weight, however many trades it makes (up to
 * the floor divisions: at most one weight unit per trade).
 */
export function referenceWeights(trades: readonly PartyTrade[], halfLifeMs: number, nowMs: number): bigint[] {
  if (!Number.isFinite(nowMs)) throw new PricingError("INVALID_TIME", `nowMs must be a finite number of milliseconds, got ${nowMs}`);
  if (!Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw new PricingError("INVALID_TIME", `halfLifeMs must be a positive number of milliseconds, got ${halfLifeMs}`);
  }
  let weights = trades.map((t) =>
    !isArmsLength(t) || t.gpus <= 0 || t.executedAtMs > nowMs ? 0n : BigInt(t.gpus) * decayWeight(nowMs - t.executedAtMs, halfLifeMs) * CAP_PRECISION,
  );
  for (const units of [trades.map((t) => t.clientGroup), trades.map((t) => t.providerGroup)]) {
    const cap = shareCap(unitTotals(weights, units).values(), MAX_SHARE_BPS);
    if (cap !== null) weights = capUnits(weights, units, cap);
  }
  const pairUnits = trades.map(pairOf);
  const pairs = [...unitTotals(weights, pairUnits).values()].filter((w) => w > 0n);
  if (pairs.length === 0) return weights;
  const cap = shareCap(pairs, MAX_SHARE_BPS) ?? pairs.reduce((min, w) => (w < min ? w : min));
  return capUnits(weights, pairUnits, cap);
}

/**
 * The weighted median price: prices sorted ascending, the first whose cumulative weight reaches half the total; when
 * it reaches exactly half, the mean (rounded down) of it and the next price. Null when the total weight is 0.
 * Entries of weight 0 are ignored.
 */
export function weightedMedianWei(prices: readonly bigint[], weights: readonly bigint[]): bigint | null {
  const entries = prices.map((p, i) => ({ p, w: weights[i] ?? 0n })).filter((e) => e.w > 0n);
  entries.sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  const total = entries.reduce((sum, e) => sum + e.w, 0n);
  if (total === 0n) return null;
  let cumulative = 0n;
  for (let i = 0; i < entries.length; i++) {
    cumulative += entries[i].w;
    if (cumulative * 2n > total) return entries[i].p;
    if (cumulative * 2n === total) return (entries[i].p + entries[i + 1].p) / 2n;
  }
  return entries[entries.length - 1].p;
}

/**
 * A reference price in wei per GPU-hour that one actor cannot move cheaply, as of `nowMs`:
 *   w      = {@link referenceWeights}(trades): related-party trades out, EWMA decay, per-client, per-provider and
 *            per-pair caps;
 *   m      = {@link weightedMedianWei}(prices, w);
 *   clip(p) = min(max(p, floor(m × (10000 − CLIP_BAND_BPS) / 10000)), floor(m × (10000 + CLIP_BAND_BPS) / 10000));
 *   ref    = floor(Σ clip(p) × w / Σ w).
 * Null when no trade has weight (none, or all between related accounts). The result lies within m ± 10%.
 *
 * Bound (what a wash trader gets): let H be the trades between unrelated honest accounts, with at least 2 distinct
 * pairs, and A any number of trades at any prices between one pair of accounts outside H (the same account or related
 * accounts: A weighs nothing and ref(H ∪ A) = ref(H)). A's share s of the weight is at most max(20%, 1 / (pairs of H + 1))
 * ≤ 1/3 < 1/2, so the median stays among H's prices. If H's prices lie within p(1 ± δ) with δ ≤ β / (2 + β)
 * (β = CLIP_BAND_BPS / 10000, so no honest trade is clipped), then
 *   |ref(H ∪ A) − ref(H)| / ref(H) ≤ (2δ + s × (β + 2δ + βδ)) / (1 − δ)
 * (the first 2δ is the caps reweighting H within its own price range): s × β = 3.3% at most with one honest price
 * (δ = 0), and under 5% for δ ≤ 0.5% (any s ≤ 1/3) or δ ≤ 1% with 4 honest pairs or more (s ≤ 20%).
 * A genuine shift is followed: once trades at a new price hold more than half the weight (many distinct pairs, or
 * the old trades decayed), the median moves there and older trades are clipped to within 10% of it.
 * Accounts that the data cannot tell apart (k unrelated pairs run by one actor) get up to k shares.
 * Throws INVALID_TIME on a non-finite nowMs or a half-life that is not positive.
 */
export function robustReferenceWei(trades: readonly PartyTrade[], halfLifeMs: number, nowMs: number): bigint | null {
  const weights = referenceWeights(trades, halfLifeMs, nowMs);
  const median = weightedMedianWei(
    trades.map((t) => t.priceWei),
    weights,
  );
  if (median === null) return null;
  const low = (median * (BPS - BigInt(CLIP_BAND_BPS))) / BPS;
  const high = (median * (BPS + BigInt(CLIP_BAND_BPS))) / BPS;
  let notional = 0n;
  let total = 0n;
  trades.forEach((t, i) => {
    if (weights[i] === 0n) return;
    const clipped = t.priceWei < low ? low : t.priceWei > high ? high : t.priceWei;
    notional += clipped * weights[i];
    total += weights[i];
  });
  return total === 0n ? null : notional / total;
}

/**
 * Price in wei of the latest trade between unrelated accounts (greatest executedAtMs; on a tie the later one in the
 * array), or null when there is none: the fallback reference of a market without weighted trades.
 */
export function lastArmsLengthPriceWei(trades: readonly PartyTrade[]): bigint | null {
  let last: PartyTrade | null = null;
  for (const t of trades) if (isArmsLength(t) && t.gpus > 0 && (last === null || t.executedAtMs >= last.executedAtMs)) last = t;
  return last === null ? null : last.priceWei;
}
