import fc from "fast-check";
import { PricingError } from "./errors";
import { MAX_FACTOR_BPS, MIN_FACTOR_BPS, suggestPrice } from "./suggested-price";

const ref = 2_000_000_000_000_000_000n;

describe("suggestPrice", () => {
  it("gives the reference at target utilization with a balanced book", () => {
    expect(suggestPrice({ referenceWei: ref, utilization: 0.7, bidGpus: 5, askGpus: 5 })).toEqual({ priceWei: ref, factorBps: 10_000 });
    expect(suggestPrice({ referenceWei: ref, utilization: 0.7, bidGpus: 0, askGpus: 0 }).factorBps).toBe(10_000);
  });
  it("adds 0.5 per unit of utilization and 0.25 per unit of imbalance", () => {
    expect(suggestPrice({ referenceWei: ref, utilization: 0.9, bidGpus: 0, askGpus: 0 }).factorBps).toBe(11_000);
    expect(suggestPrice({ referenceWei: ref, utilization: 0.7, bidGpus: 3, askGpus: 1 }).factorBps).toBe(11_250);
    expect(suggestPrice({ referenceWei: ref, utilization: 0.3, bidGpus: 1, askGpus: 3 })).toEqual({ priceWei: 1_350_000_000_000_000_000n, factorBps: 6_750 });
  });
  it("clamps utilization to [0, 1] and the factor to [0.5, 2]", () => {
    expect(suggestPrice({ referenceWei: ref, utilization: 7, bidGpus: 1, askGpus: 0 }).factorBps).toBe(14_000);
    expect(suggestPrice({ referenceWei: ref, utilization: -3, bidGpus: 0, askGpus: 1 })).toEqual({ priceWei: ref / 2n, factorBps: MIN_FACTOR_BPS });
    expect(suggestPrice({ referenceWei: 3n, utilization: 0.5, bidGpus: 0, askGpus: 0 })).toEqual({ priceWei: 2n, factorBps: 9_000 });
  });
  it("refuses bad input", () => {
    expect(() => suggestPrice({ referenceWei: -1n, utilization: 0.5, bidGpus: 0, askGpus: 0 })).toThrow(PricingError);
    expect(() => suggestPrice({ referenceWei: 1n, utilization: Number.NaN, bidGpus: 0, askGpus: 0 })).toThrow(PricingError);
    expect(() => suggestPrice({ referenceWei: 1n, utilization: 0.5, bidGpus: -1, askGpus: 0 })).toThrow(PricingError);
  });
  it("stays in bounds and rises with utilization and demand", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.double({ min: -1, max: 2, noNaN: true }),
        fc.double({ min: -1, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (referenceWei, u1, u2, bidGpus, askGpus) => {
          const [lo, hi] = u1 <= u2 ? [u1, u2] : [u2, u1];
          const a = suggestPrice({ referenceWei, utilization: lo, bidGpus, askGpus });
          const b = suggestPrice({ referenceWei, utilization: hi, bidGpus, askGpus });
          const c = suggestPrice({ referenceWei, utilization: hi, bidGpus: bidGpus + 1, askGpus });
          expect(a.factorBps).toBeGreaterThanOrEqual(MIN_FACTOR_BPS);
          expect(a.factorBps).toBeLessThanOrEqual(MAX_FACTOR_BPS);
          expect(Number.isInteger(a.factorBps)).toBe(true);
          expect(a.factorBps).toBeLessThanOrEqual(b.factorBps);
          expect(b.factorBps).toBeLessThanOrEqual(c.factorBps);
          expect(a.priceWei).toBe((referenceWei * BigInt(a.factorBps)) / 10_000n);
        },
      ),
    );
  });
});
