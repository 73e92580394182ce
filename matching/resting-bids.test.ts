import fc from "fast-check";
import { exclusionOf } from "./filters";
import { bidsServedBy, rankRestingBids, type RestingBid } from "./resting-bids";
import type { Candidate, Requirements } from "./types";
import { candidate, ONE, requirements } from "./test-builders";

const offer: Candidate = candidate("o", { providerId: "p", nodeId: "n" });
const req: Requirements = requirements();
const bid = (jobId: string, ordinal: number, change: Partial<Requirements> = {}): RestingBid => ({ jobId, ordinal, requirements: { ...req, ...change } });

describe("rankRestingBids", () => {
  it("puts the highest cap first, bids without a cap last, then the oldest, then the job id", () => {
    const bids = [bid("none", 0), bid("low", 1, { maxPriceWei: ONE }), bid("high-new", 9, { maxPriceWei: 3n * ONE }), bid("high-b", 2, { maxPriceWei: 3n * ONE }), bid("high-a", 2, { maxPriceWei: 3n * ONE })];
    expect(rankRestingBids(bids).map((b) => b.jobId)).toEqual(["high-a", "high-b", "high-new", "low", "none"]);
  });
});

describe("bidsServedBy", () => {
  it("serves eligible bids in priority order while GPUs last, skipping one that does not fit", () => {
    const bids = [
      bid("too-cheap", 0, { maxPriceWei: ONE }),
      bid("big", 1, { maxPriceWei: 5n * ONE, gpuCount: 6 }),
      bid("medium", 2, { maxPriceWei: 4n * ONE, gpuCount: 4 }),
      bid("small", 3, { maxPriceWei: 3n * ONE, gpuCount: 2 }),
      bid("other-model", 4, { gpuModels: ["A100"] }),
    ];
    expect(bidsServedBy(offer, bids).map((b) => b.jobId)).toEqual(["big", "small"]);
    expect(bidsServedBy({ ...offer, online: false }, bids)).toEqual([]);
  });
  it("serves only eligible bids, within the offer's GPUs, in priority order", () => {
    const bidArb = fc.record({
      ordinal: fc.integer({ min: 0, max: 5 }),
      gpuCount: fc.integer({ min: 1, max: 8 }),
      maxPriceWei: fc.option(fc.constantFrom(ONE, 2n * ONE, 3n * ONE), { nil: null }),
      minVramGb: fc.constantFrom(0, 40, 100),
    });
    fc.assert(
      fc.property(fc.array(bidArb, { maxLength: 20 }), fc.integer({ min: 0, max: 16 }), (rows, availableGpus) => {
        const bids = rows.map((r, i) => bid(`j${i}`, r.ordinal, { gpuCount: r.gpuCount, maxPriceWei: r.maxPriceWei, minVramGb: r.minVramGb }));
        const o = { ...offer, availableGpus };
        const served = bidsServedBy(o, bids);
        expect(served.reduce((s, b) => s + b.requirements.gpuCount, 0)).toBeLessThanOrEqual(availableGpus);
        for (const b of served) expect(exclusionOf(o, b.requirements)).toBeNull();
        const order = rankRestingBids(bids);
        const positions = served.map((b) => order.indexOf(b));
        expect([...positions].sort((x, y) => x - y)).toEqual(positions);
        let free = availableGpus;
        for (const b of order) {
          const eligible = exclusionOf(o, b.requirements) === null && b.requirements.gpuCount <= free;
          expect(served.includes(b)).toBe(eligible);
          if (eligible) free -= b.requirements.gpuCount;
        }
      }),
    );
  });
});
