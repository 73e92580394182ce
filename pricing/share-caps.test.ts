import fc from "fast-check";
import { PricingError } from "./errors";
import { capUnits, shareCap, unitTotals } from "./share-caps";

const weight = fc.bigInt({ min: 0n, max: 10n ** 30n });

describe("shareCap", () => {
  it("cuts the heaviest units so that none holds more than the share", () => {
    // 100 vs four of 10: 100 is cut to c with c = 0.2 × (c + 40), c = 10
    expect(shareCap([100n, 10n, 10n, 10n, 10n], 2_000)).toBe(10n);
    // nothing above 20% of 100: no cut needed, the cap is 20% of the total
    expect(shareCap([20n, 20n, 20n, 20n, 20n], 2_000)).toBe(20n);
    expect(shareCap([30n, 30n, 10n, 10n, 10n, 10n], 2_000)).toBe(13n);
  });

  it("is null with fewer units than the share allows, ignoring units of weight 0", () => {
    expect(shareCap([5n, 1n, 1n, 1n], 2_000)).toBeNull();
    expect(shareCap([5n, 1n, 1n, 1n, 0n], 2_000)).toBeNull();
    expect(shareCap([], 2_000)).toBeNull();
    expect(shareCap([7n], 10_000)).toBe(7n);
  });

  it("refuses a share outside [1, 10000] and negative weights", () => {
    expect(() => shareCap([1n], 0)).toThrow(PricingError);
    expect(() => shareCap([1n], 10_001)).toThrow(PricingError);
    expect(() => shareCap([1n], 1.5)).toThrow(PricingError);
    expect(() => shareCap([-1n], 2_000)).toThrow(PricingError);
  });

  it("leaves no unit above the share, cuts only units above the cap, and exists whenever units ≥ 10000 / share", () => {
    fc.assert(
      fc.property(fc.array(weight, { maxLength: 30 }), fc.integer({ min: 500, max: 10_000 }), (weights, share) => {
        const cap = shareCap(weights, share);
        const units = weights.filter((w) => w > 0n).length;
        if (units * share < 10_000) return expect(cap).toBeNull();
        expect(cap).not.toBeNull();
        const capped = weights.map((w) => (w > cap! ? cap! : w));
        const total = capped.reduce((a, b) => a + b, 0n);
        for (const w of capped) expect(w * 10_000n).toBeLessThanOrEqual(BigInt(share) * total);
      }),
    );
  });

  it("never lowers the cap when one unit gets heavier (no other unit is cut more)", () => {
    fc.assert(
      fc.property(fc.array(weight, { minLength: 5, maxLength: 20 }), fc.nat(19), weight, (weights, at, extra) => {
        const before = shareCap(weights, 2_000);
        const heavier = weights.map((w, i) => (i === at % weights.length ? w + extra : w));
        const after = shareCap(heavier, 2_000);
        if (before !== null) expect(after! >= before).toBe(true);
      }),
    );
  });
});

describe("capUnits", () => {
  it("scales a unit's trades alike down to the cap and leaves lighter units alone", () => {
    const units = ["a", "a", "b"];
    const capped = capUnits([30n, 10n, 5n], units, 20n);
    expect(capped).toEqual([15n, 5n, 5n]);
    expect(unitTotals(capped, units)).toEqual(new Map([["a", 20n], ["b", 5n]]));
  });
});
