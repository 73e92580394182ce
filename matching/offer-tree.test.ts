import fc from "fast-check";
import { bandOf, OfferStats, OfferTree, REPUTATION_BANDS, type HeldOffer } from "./offer-tree";
import type { Candidate } from "./types";

const held = (i: number, row: { priceWei: bigint; ordinal: number; reputation: number; availableGpus: number; measuredLatencyMs: number | null }): HeldOffer => {
  const c: Candidate = {
    offerId: `o${i}`,
    providerId: "p",
    nodeId: "n",
    gpuModel: "H100",
    vramGb: 80,
    region: "eu-west",
    online: true,
    ...row,
  };
  return { c, priceNum: Number(c.priceWei), band: bandOf(c.reputation) };
};

function statsOf(offers: readonly HeldOffer[]): OfferStats {
  const s = new OfferStats();
  for (const h of offers) s.add(h);
  return s;
}

describe("OfferTree", () => {
  it("puts reputations in 64 bands, 1 in the last", () => {
    expect(bandOf(0)).toBe(0);
    expect(bandOf(0.5)).toBe(32);
    expect(bandOf(1)).toBe(REPUTATION_BANDS - 1);
  });
  it("keeps bands sorted and every aggregate exact through inserts and removals", () => {
    const row = fc.record({
      priceWei: fc.bigInt({ min: 0n, max: 20n }),
      ordinal: fc.integer({ min: 0, max: 5 }),
      reputation: fc.constantFrom(0, 0.2, 0.5, 0.51, 0.9, 1),
      availableGpus: fc.integer({ min: 0, max: 8 }),
      measuredLatencyMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (rows, removals) => {
        const tree = new OfferTree(-1);
        const live = rows.map((r, i) => held(i, r));
        for (const h of live) tree.insert(h);
        for (const k of removals) {
          if (live.length === 0) break;
          const [h] = live.splice(k % live.length, 1);
          tree.remove(h);
          tree.remove(h);
        }
        expect(tree.root).toEqual(statsOf(live));
        for (let b = 0; b < REPUTATION_BANDS; b++) {
          const members = live.filter((h) => h.band === b);
          expect(tree.bands[b].stats).toEqual(statsOf(members));
          expect(tree.bands[b].offers.map((h) => h.c.offerId)).toEqual(
            [...members].sort((x, y) => (x.c.priceWei !== y.c.priceWei ? (x.c.priceWei < y.c.priceWei ? -1 : 1) : x.c.ordinal - y.c.ordinal || (x.c.offerId < y.c.offerId ? -1 : 1))).map((h) => h.c.offerId),
          );
        }
        tree.groups.forEach((g, i) => {
          const [from, to] = OfferTree.bandsOf(i);
          expect(g).toEqual(statsOf(live.filter((h) => h.band >= from && h.band < to)));
        });
      }),
    );
  });
});
