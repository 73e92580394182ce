import fc from "fast-check";
import { PricingError } from "./errors";
import { bpsOf } from "./cost";
import { formatUsd, MAX_USD_MICROS, parseUsd, usdCapToWei, usdCharge, usdOfWeiCeil, usdOfWeiFloor } from "./usd";

const micros = fc.bigInt({ min: 0n, max: MAX_USD_MICROS });
const rate = fc.bigInt({ min: 1n, max: 10n ** 12n });
const wei = fc.bigInt({ min: 0n, max: 10n ** 30n });
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof PricingError ? e.code : "OTHER";
  }
  return undefined;
};

describe("USD conversions", () => {
  it("parses and formats dollars exactly, refusing what it cannot hold", () => {
    expect(parseUsd("2.5")).toBe(2_500_000n);
    expect(parseUsd("0.000001")).toBe(1n);
    expect(formatUsd(1_500_000n)).toBe("1.5");
    expect(codeOf(() => parseUsd("0.0000001"))).toBe("TOO_MANY_DECIMALS");
    expect(codeOf(() => parseUsd("1000000001"))).toBe("AMOUNT_TOO_LARGE");
    expect(codeOf(() => parseUsd("-1"))).toBe("NEGATIVE_AMOUNT");
    expect(codeOf(() => parseUsd("1e3"))).toBe("INVALID_AMOUNT");
    fc.assert(fc.property(micros, (m) => parseUsd(formatUsd(m)) === m));
  });

  it("a cap converted to OGPU and back never exceeds the cap, and loses less than one wei's worth", () => {
    fc.assert(
      fc.property(micros, rate, (cap, r) => {
        const w = usdCapToWei(cap, r);
        expect(usdOfWeiFloor(w, r)).toBeLessThanOrEqual(cap);
        // one more wei would buy more than the cap allows
        expect((w + 1n) * r).toBeGreaterThan(cap * 10n ** 18n);
      }),
    );
  });

  it("a USD charge never exceeds its hold, and a hold (rounded up) covers any cost up to the held OGPU", () => {
    fc.assert(
      fc.property(wei, wei, rate, (cost, held, r) => {
        const hold = usdOfWeiCeil(held, r);
        expect(usdCharge(cost, r, hold)).toBeLessThanOrEqual(hold);
        if (cost <= held) expect(usdCharge(cost, r, hold)).toBe(usdOfWeiFloor(cost, r));
        expect(hold * 10n ** 18n).toBeGreaterThanOrEqual(held * r);
      }),
    );
  });

  it("refuses a rate of zero", () => {
    expect(codeOf(() => usdOfWeiFloor(1n, 0n))).toBe("INVALID_AMOUNT");
  });
});

describe("bpsOf", () => {
  it("is floor(amount x bps / 10000), never more than the amount", () => {
    expect(bpsOf(10_000n, 500)).toBe(500n);
    expect(bpsOf(199n, 50)).toBe(0n);
    fc.assert(fc.property(wei, fc.integer({ min: 0, max: 10_000 }), (a, b) => bpsOf(a, b) <= a && bpsOf(a, b) * 10_000n <= a * BigInt(b)));
    expect(codeOf(() => bpsOf(1n, 10_001))).toBe("INVALID_FEE");
  });
});
