import fc from "fast-check";
import { latencyComponent, priceComponent, PRICE_REF_WEI, reputationComponent, scoreOf, vramComponent } from "./score";
import type { Candidate, MatchWeights, Requirements } from "./types";
import { candidate, ONE, requirements } from "./test-builders";

const offer: Candidate = candidate("o1", { ordinal: 1, providerId: "p1", nodeId: "n1", availableGpus: 4, measuredLatencyMs: 30, reputation: 0.75 });
const req: Requirements = requirements({ minVramGb: 60, region: "eu-west", maxPriceWei: 4n * ONE });
const only = (k: keyof MatchWeights): MatchWeights => ({ price: 0, latency: 0, vram: 0, reputation: 0, [k]: 1 });

describe("score components", () => {
  it("prices against the cap, or against 1 OGPU without one", () => {
    expect(priceComponent(2, 4)).toBe(0.5);
    expect(priceComponent(8, 4)).toBe(1);
    expect(priceComponent(Number(PRICE_REF_WEI), null)).toBe(0.5);
    expect(priceComponent(0, null)).toBe(0);
    expect(priceComponent(0, 0)).toBe(0);
  });
  it("scales latency to 300 ms, VRAM to unused share, reputation to its complement", () => {
    expect(latencyComponent(150)).toBe(0.5);
    expect(latencyComponent(900)).toBe(1);
    expect(latencyComponent(null)).toBe(0);
    expect(vramComponent(80, 60)).toBe(0.25);
    expect(vramComponent(80, 90)).toBe(0);
    expect(reputationComponent(0.75)).toBe(0.25);
    expect(reputationComponent(1.5)).toBe(0);
  });
});

describe("scoreOf", () => {
  it("weighs each component", () => {
    expect(scoreOf(offer, req, only("price"))).toBe(0.5);
    expect(scoreOf(offer, req, only("latency"))).toBe(0.1);
    expect(scoreOf(offer, req, only("vram"))).toBe(0.25);
    expect(scoreOf(offer, req, only("reputation"))).toBe(0.25);
    expect(scoreOf(offer, { ...req, region: null }, only("latency"))).toBe(0);
    expect(scoreOf(offer, req, { price: 0.5, latency: 0, vram: 0, reputation: 0.5 })).toBe(0.375);
  });
  it("never falls as the price rises, with or without a cap", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.option(fc.bigInt({ min: 0n, max: 10n ** 24n })),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (price, step, cap, rep, wp) => {
          const r = { ...req, maxPriceWei: cap };
          const w = { price: wp, latency: 0.2, vram: 0.1, reputation: 0.3 };
          const a = scoreOf({ ...offer, priceWei: price, reputation: rep }, r, w);
          const b = scoreOf({ ...offer, priceWei: price + step, reputation: rep }, r, w);
          expect(a).toBeLessThanOrEqual(b);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThanOrEqual(1.0000001 + 0.6);
        },
      ),
    );
  });
});
