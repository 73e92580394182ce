import type { Candidate } from "./types";

/** Reputation bands of an OfferTree: band b holds reputations in [b / 64, (b + 1) / 64), 1 in the last. */
export const REPUTATION_BANDS = 64;
const BANDS_PER_GROUP = 8;
const GROUPS = REPUTATION_BANDS / BANDS_PER_GROUP;

/** An offer as an OfferIndex holds it: the candidate, Number(priceWei), and its reputation band. */
export interface HeldOffer {
  readonly c: Candidate;
  readonly priceNum: number;
  readonly band: number;
}

/** Reputation band of a reputation in [0, 1]. */
export function bandOf(reputation: number): number {
  return Math.min(REPUTATION_BANDS - 1, Math.max(0, Math.floor(reputation * REPUTATION_BANDS)));
}

/** Order of offers inside a band: price ascending, then ordinal, then offerId (a total order for distinct ids). */
export function compareHeld(a: HeldOffer, b: HeldOffer): number {
  if (a.priceNum !== b.priceNum) return a.priceNum < b.priceNum ? -1 : 1;
  if (a.c.priceWei !== b.c.priceWei) return a.c.priceWei < b.c.priceWei ? -1 : 1;
  if (a.c.ordinal !== b.c.ordinal) return a.c.ordinal < b.c.ordinal ? -1 : 1;
  return a.c.offerId < b.c.offerId ? -1 : a.c.offerId > b.c.offerId ? 1 : 0;
}

/**
 * Exact aggregates of a set of offers, the inputs of a search's lower bounds and pruning: how many, the lowest price,
 * the highest reputation and free GPUs, the lowest measured latency (Infinity when none is measured).
 */
export class OfferStats {
  count = 0;
  minPriceWei = 0n;
  minPriceNum = Number.POSITIVE_INFINITY;
  maxReputation = Number.NEGATIVE_INFINITY;
  maxAvailableGpus = Number.NEGATIVE_INFINITY;
  minMeasuredMs = Number.POSITIVE_INFINITY;

  /** Counts one more offer in the aggregates. O(1). */
  add(h: HeldOffer): void {
    if (this.count === 0 || h.priceNum < this.minPriceNum || (h.priceNum === this.minPriceNum && h.c.priceWei < this.minPriceWei)) {
      this.minPriceNum = h.priceNum;
      this.minPriceWei = h.c.priceWei;
    }
    this.count += 1;
    if (h.c.reputation > this.maxReputation) this.maxReputation = h.c.reputation;
    if (h.c.availableGpus > this.maxAvailableGpus) this.maxAvailableGpus = h.c.availableGpus;
    if (h.c.measuredLatencyMs !== null && h.c.measuredLatencyMs < this.minMeasuredMs) this.minMeasuredMs = h.c.measuredLatencyMs;
  }

  /** Folds another node's aggregates into these. O(1). */
  merge(o: OfferStats): void {
    if (o.count === 0) return;
    if (this.count === 0 || o.minPriceNum < this.minPriceNum || (o.minPriceNum === this.minPriceNum && o.minPriceWei < this.minPriceWei)) {
      this.minPriceNum = o.minPriceNum;
      this.minPriceWei = o.minPriceWei;
    }
    this.count += o.count;
    this.maxReputation = Math.max(this.maxReputation, o.maxReputation);
    this.maxAvailableGpus = Math.max(this.maxAvailableGpus, o.maxAvailableGpus);
    this.minMeasuredMs = Math.min(this.minMeasuredMs, o.minMeasuredMs);
  }

  /** Back to the aggregates of no offers. */
  reset(): void {
    this.count = 0;
    this.minPriceWei = 0n;
    this.minPriceNum = Number.POSITIVE_INFINITY;
    this.maxReputation = Number.NEGATIVE_INFINITY;
    this.maxAvailableGpus = Number.NEGATIVE_INFINITY;
    this.minMeasuredMs = Number.POSITIVE_INFINITY;
  }
}

/** One reputation band: its offers sorted by compareHeld, and their aggregates. */
export class Band {
  readonly stats = new OfferStats();
  readonly offers: HeldOffer[] = [];
}

function positionOf(offers: readonly HeldOffer[], h: HeldOffer): number {
  let lo = 0;
  let hi = offers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareHeld(offers[mid], h) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The offers of one market (and one region, or one band of measured latency): a three-level tree over reputation,
 * root → 8 groups of 8 bands → bands of offers sorted by price. Every node keeps exact OfferStats of the offers under
 * it, so a search can bound the best score below any node and skip nodes that cannot qualify. Insert and remove are a
 * binary search plus array shifting in the band; a remove rescans the band only when the offer held one of its
 * extremes (highest reputation or free GPUs, lowest measured latency).
 */
export class OfferTree {
  readonly root = new OfferStats();
  readonly groups: OfferStats[] = Array.from({ length: GROUPS }, () => new OfferStats());
  readonly bands: Band[] = Array.from({ length: REPUTATION_BANDS }, () => new Band());

  /** @param region the REGIONS position whose unmeasured offers this tree holds; -1 when latency is not by region. */
  constructor(readonly region: number) {}

  /** The bands under group `g`, as positions in `bands`. */
  static bandsOf(g: number): [from: number, to: number] {
    return [g * BANDS_PER_GROUP, (g + 1) * BANDS_PER_GROUP];
  }

  /** Adds an offer to its band, in order, and to the aggregates on its path. The offer must not be in the tree. */
  insert(h: HeldOffer): void {
    const band = this.bands[h.band];
    band.offers.splice(positionOf(band.offers, h), 0, h);
    band.stats.add(h);
    this.groups[Math.floor(h.band / BANDS_PER_GROUP)].add(h);
    this.root.add(h);
  }

  /** Takes an offer (the same object that was inserted) out of its band and recomputes the aggregates on its path. */
  remove(h: HeldOffer): void {
    const band = this.bands[h.band];
    const at = positionOf(band.offers, h);
    if (band.offers[at] !== h) return;
    band.offers.splice(at, 1);
    const stats = band.stats;
    const c = h.c;
    const wasExtreme =
      c.reputation >= stats.maxReputation ||
      c.availableGpus >= stats.maxAvailableGpus ||
      (c.measuredLatencyMs !== null && c.measuredLatencyMs <= stats.minMeasuredMs);
    if (band.offers.length === 0 || wasExtreme) {
      stats.reset();
      for (const o of band.offers) stats.add(o);
    } else {
      stats.count -= 1;
      stats.minPriceNum = band.offers[0].priceNum;
      stats.minPriceWei = band.offers[0].c.priceWei;
    }
    const g = Math.floor(h.band / BANDS_PER_GROUP);
    const group = this.groups[g];
    group.reset();
    const [from, to] = OfferTree.bandsOf(g);
    for (let b = from; b < to; b++) group.merge(this.bands[b].stats);
    this.root.reset();
    for (const s of this.groups) this.root.merge(s);
  }
}
