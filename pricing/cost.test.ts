import fc from "fast-check";
import { costWei, feeWei, holdWei, MAX_FEE_BPS } from "./cost";
import { PricingError } from "./errors";
import { WEI_PER_UNIT } from "./units";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PricingError);
    return (e as PricingError).code;
  }
  return undefined;
}

describe("costWei", () => {
  it("charges price × GPUs × seconds / 3600", () => {
    expect(costWei(2n * WEI_PER_UNIT, 4, 3600)).toBe(8n * WEI_PER_UNIT);
    expect(costWei(3600n, 1, 1)).toBe(1n);
    expect(costWei(2n * WEI_PER_UNIT, 1, 90)).toBe(WEI_PER_UNIT / 20n);
    expect(costWei(123n, 0, 3600)).toBe(0n);
  });
  it("rounds down, in the client's favour", () => {
    expect(costWei(3599n, 1, 1)).toBe(0n);
    expect(costWei(7199n, 1, 1)).toBe(1n);
    expect(costWei(1000n, 3, 7)).toBe(5n);
  });
  it.each([
    [() => costWei(1n, -1, 1), "INVALID_QUANTITY"],
    [() => costWei(1n, 1.5, 1), "INVALID_QUANTITY"],
    [() => costWei(1n, 1, -1), "INVALID_QUANTITY"],
    [() => costWei(1n, 1, Number.NaN), "INVALID_QUANTITY"],
    [() => costWei(-1n, 1, 1), "NEGATIVE_AMOUNT"],
  ])("refuses bad input %#", (fn, code) => {
    expect(codeOf(fn)).toBe(code);
  });
  it("is at most the exact cost and within 1 wei of it", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.integer({ min: 0, max: 1024 }), fc.integer({ min: 0, max: 90 * 86400 }), (p, g, s) => {
        const cost = costWei(p, g, s);
        const exactTimes3600 = p * BigInt(g) * BigInt(s);
        expect(cost * 3600n <= exactTimes3600).toBe(true);
        expect((cost + 1n) * 3600n > exactTimes3600).toBe(true);
      }),
    );
  });
});

describe("holdWei", () => {
  it("holds the capped cost once per replica", () => {
    expect(holdWei(2n * WEI_PER_UNIT, 2, 1800, 3)).toBe(6n * WEI_PER_UNIT);
    expect(holdWei(7199n, 1, 1, 2)).toBe(2n);
    expect(codeOf(() => holdWei(1n, 1, 1, 0))).toBe("INVALID_QUANTITY");
  });
  it("covers every replica's cost at any price within the cap and any run within the maximum", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 22n }),
        fc.bigInt({ min: 0n, max: 10n ** 22n }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 86400 }),
        fc.integer({ min: 0, max: 86400 }),
        fc.integer({ min: 1, max: 10 }),
        (a, b, gpus, s1, s2, redundancy) => {
          const [price, cap] = a <= b ? [a, b] : [b, a];
          const [seconds, max] = s1 <= s2 ? [s1, s2] : [s2, s1];
          const hold = holdWei(cap, gpus, max, redundancy);
          expect(costWei(price, gpus, seconds) * BigInt(redundancy) <= hold).toBe(true);
          expect(costWei(price, gpus, seconds) <= hold / BigInt(redundancy)).toBe(true);
        },
      ),
    );
  });
});

describe("feeWei", () => {
  it("takes basis points, rounded down", () => {
    expect(feeWei(10_000n, 250)).toBe(250n);
    expect(feeWei(399n, 250)).toBe(9n);
    expect(feeWei(5n, 0)).toBe(0n);
    expect(feeWei(5n, MAX_FEE_BPS)).toBe(5n);
  });
  it.each([-1, 10_001, 2.5, Number.NaN])("refuses %s bps", (bps) => {
    expect(codeOf(() => feeWei(1n, bps))).toBe("INVALID_FEE");
  });
  it("refuses negative amounts", () => {
    expect(codeOf(() => feeWei(-1n, 1))).toBe("NEGATIVE_AMOUNT");
  });
  it("never exceeds the amount and grows with the rate", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: MAX_FEE_BPS - 1 }), (amount, bps) => {
        expect(feeWei(amount, bps) <= feeWei(amount, bps + 1)).toBe(true);
        expect(feeWei(amount, bps + 1) <= amount).toBe(true);
      }),
    );
  });
});
