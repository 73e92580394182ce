import { assertCandidate } from "./candidate";
import { acceptsModel, exclusionOf } from "./filters";
import { regionIndexOf, tableLatencyMs } from "./latency-table";
import { bandOf, OfferTree, type HeldOffer, type OfferStats } from "./offer-tree";
import { REGIONS } from "./regions";
import { createScorer, latencyComponent, priceComponent, reputationComponent, vramComponent } from "./score";
import { SEARCH_BAND, SEARCH_GROUP, SEARCH_OFFER, SEARCH_ROOT, SearchHeap, type SearchItem } from "./search-heap";
import type { Candidate, Requirements } from "./types";
import { resolveWeights } from "./weights";

/** Width in ms of the bands measured latencies are grouped in; the last band takes everything from 300 ms on. */
export const MEASURED_BAND_MS = 10;
const MEASURED_BANDS = 31;

interface Market {
  readonly gpuModel: string;
  readonly vramGb: number;
  readonly all: OfferTree;
  readonly byRegion: (OfferTree | undefined)[];
  readonly byMeasured: (OfferTree | undefined)[];
}

interface Held extends HeldOffer {
  readonly market: Market;
  readonly near: OfferTree;
}

/**
 * An in-memory index of open offers for fast placement. Offers are grouped per market (gpuModel + vramGb) twice:
 * once in one tree for jobs without a region, and once per node region (offers without a measured latency) or per
 * {@link MEASURED_BAND_MS} band of measured latency, for jobs with one. Each tree splits its offers by reputation band
 * and keeps every band sorted by (priceWei, ordinal, offerId), with exact aggregates at every node (OfferTree).
 *
 * best(req) runs a best-first search over those nodes with a priority queue keyed by lower bounds of score
 * (price component of the node's lowest price, the latency component of its region or lowest measured latency, the
 * market's exact VRAM component, 1 − its highest reputation; summed in scoreOf's order, so float rounding keeps
 * them bounds), skipping markets of the wrong model or too little VRAM and nodes whose aggregates fail a hard
 * filter. It stops as soon as enough offers are chosen: every offer comes out in rankCandidates order, so the result
 * equals selectOffers(all offers, req, opts) exactly, ties included. Offline offers are held but never searched.
 */
export class OfferIndex {
  private readonly byId = new Map<string, Held>();
  private readonly markets = new Map<string, Market>();
  private readonly heap = new SearchHeap();

  /** Offers held, online or not. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Adds an offer, or replaces the one with the same offerId. The index keeps the object: treat it as immutable and
   * upsert a new one to change an offer (price, free GPUs, reputation, online). Throws as assertCandidate on an
   * invalid offer, and then keeps the old one.
   */
  upsert(c: Candidate): void {
    assertCandidate(c);
    this.remove(c.offerId);
    const market = this.marketOf(c);
    const near =
      c.measuredLatencyMs === null
        ? treeAt(market.byRegion, regionIndexOf(c.region), true)
        : treeAt(market.byMeasured, measuredBandOf(c.measuredLatencyMs), false);
    const held: Held = { c, priceNum: Number(c.priceWei), band: bandOf(c.reputation), market, near };
    this.byId.set(c.offerId, held);
    if (!c.online) return;
    market.all.insert(held);
    near.insert(held);
  }

  /** The offer held with this id (online or not), as last upserted. */
  get(offerId: string): Candidate | undefined {
    return this.byId.get(offerId)?.c;
  }

  /** Removes the offer with this id; nothing when there is none. */
  remove(offerId: string): void {
    const held = this.byId.get(offerId);
    if (held === undefined) return;
    this.byId.delete(offerId);
    if (!held.c.online) return;
    held.market.all.remove(held);
    held.near.remove(held);
  }

  /**
   * The same offers, in the same order, as selectOffers(every offer held, req, opts): up to `count` (default
   * req.redundancy) eligible offers from distinct providers, best score first. `accept`, when given, is one more
   * filter an offer must pass (what the caller knows and matching does not: expiry at a time, a node's last
   * heartbeat, a minimum duration): the result is then selectOffers(the offers it accepts, req, opts). It is asked
   * only of offers that pass every hard filter, in rank order. Throws INVALID_WEIGHTS as resolveWeights,
   * UNKNOWN_REGION for a job region not on the list.
   */
  best(req: Requirements, opts?: { excludeProviders?: ReadonlySet<string>; count?: number; accept?: (c: Candidate) => boolean }): Candidate[] {
    const count = opts?.count ?? req.redundancy;
    const excludeProviders = opts?.excludeProviders;
    const accept = opts?.accept;
    const weights = resolveWeights(req.strategy, req.weights);
    const jobRegion = req.region === null ? -1 : regionIndexOf(req.region);
    const chosen: Candidate[] = [];
    if (count <= 0) return chosen;

    const score = createScorer(req, weights);
    const cap = req.maxPriceWei;
    const capNum = cap === null ? null : Number(cap);
    const { gpuCount, minReputation, maxLatencyMs } = req;
    const wp = weights.price;
    const wl = weights.latency;
    const wr = weights.reputation;
    const regionTerms = jobRegion < 0 ? [] : REGIONS.map((_, r) => wl * latencyComponent(tableLatencyMs(jobRegion, r)));

    const latencyTerm = (tree: OfferTree, s: OfferStats): number =>
      jobRegion < 0 ? 0 : tree.region >= 0 ? regionTerms[tree.region] : wl * latencyComponent(s.minMeasuredMs);
    const viable = (tree: OfferTree, s: OfferStats): boolean =>
      s.count > 0 &&
      (cap === null || s.minPriceWei <= cap) &&
      s.maxAvailableGpus >= gpuCount &&
      (minReputation === null || s.maxReputation >= minReputation) &&
      (maxLatencyMs === null || jobRegion < 0 || tree.region >= 0 || s.minMeasuredMs <= maxLatencyMs);
    const bound = (priceNum: number, tree: OfferTree, s: OfferStats, vramTerm: number): number =>
      wp * priceComponent(priceNum, capNum) + latencyTerm(tree, s) + vramTerm + wr * reputationComponent(s.maxReputation);

    const heap = this.heap;
    heap.clear();
    const pushNode = (kind: number, tree: OfferTree, slot: number, s: OfferStats, vramTerm: number): void => {
      if (!viable(tree, s)) return;
      heap.push({ key: bound(s.minPriceNum, tree, s, vramTerm), kind, tree, slot, cursor: 0, vramTerm, offer: null });
    };

    for (const market of this.markets.values()) {
      if (market.vramGb < req.minVramGb || !acceptsModel(req, market.gpuModel)) continue;
      const vramTerm = weights.vram * vramComponent(market.vramGb, req.minVramGb);
      if (jobRegion < 0) {
        pushNode(SEARCH_ROOT, market.all, 0, market.all.root, vramTerm);
        continue;
      }
      for (const tree of market.byRegion) {
        if (tree === undefined) continue;
        if (maxLatencyMs !== null && tableLatencyMs(jobRegion, tree.region) > maxLatencyMs) continue;
        pushNode(SEARCH_ROOT, tree, 0, tree.root, vramTerm);
      }
      for (const tree of market.byMeasured) if (tree !== undefined) pushNode(SEARCH_ROOT, tree, 0, tree.root, vramTerm);
    }

    const providers = new Set<string>();
    while (heap.size > 0) {
      const item = heap.pop() as SearchItem;
      const { tree, vramTerm } = item;
      if (item.kind === SEARCH_ROOT) {
        for (let g = 0; g < tree.groups.length; g++) pushNode(SEARCH_GROUP, tree, g, tree.groups[g], vramTerm);
      } else if (item.kind === SEARCH_GROUP) {
        const [from, to] = OfferTree.bandsOf(item.slot);
        for (let b = from; b < to; b++) pushNode(SEARCH_BAND, tree, b, tree.bands[b].stats, vramTerm);
      } else if (item.kind === SEARCH_BAND) {
        const band = tree.bands[item.slot];
        const offers = band.offers;
        let i = item.cursor;
        for (; i < offers.length; i++) {
          const h = offers[i];
          if (cap !== null && h.c.priceWei > cap) {
            i = offers.length;
            break;
          }
          if (providers.has(h.c.providerId) || exclusionOf(h.c, req, excludeProviders) !== null) continue;
          if (accept !== undefined && !accept(h.c)) continue;
          heap.push({ key: score(h.c), kind: SEARCH_OFFER, tree, slot: 0, cursor: 0, vramTerm, offer: h });
          i++;
          break;
        }
        if (i < offers.length) {
          const key = bound(offers[i].priceNum, tree, band.stats, vramTerm);
          heap.push({ key, kind: SEARCH_BAND, tree, slot: item.slot, cursor: i, vramTerm, offer: null });
        }
      } else {
        const c = (item.offer as HeldOffer).c;
        if (providers.has(c.providerId)) continue;
        providers.add(c.providerId);
        chosen.push(c);
        if (chosen.length >= count) break;
      }
    }
    return chosen;
  }

  private marketOf(c: Candidate): Market {
    const key = `${c.gpuModel}-${c.vramGb}`;
    let market = this.markets.get(key);
    if (market === undefined) {
      market = { gpuModel: c.gpuModel, vramGb: c.vramGb, all: new OfferTree(-1), byRegion: [], byMeasured: [] };
      this.markets.set(key, market);
    }
    return market;
  }
}

function measuredBandOf(ms: number): number {
  return Math.min(MEASURED_BANDS - 1, Math.floor(ms / MEASURED_BAND_MS));
}

function treeAt(trees: (OfferTree | undefined)[], at: number, byRegion: boolean): OfferTree {
  let tree = trees[at];
  if (tree === undefined) {
    tree = new OfferTree(byRegion ? at : -1);
    trees[at] = tree;
  }
  return tree;
}
