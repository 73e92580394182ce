import fc from "fast-check";
import { PricingError } from "./errors";
import { ewmaWei, lastPriceWei, vwapWei, type TradePoint } from "./reference";

const t = (priceWei: bigint, gpus: number, executedAtMs: number): TradePoint => ({ priceWei, gpus, executedAtMs });

describe("lastPriceWei", () => {
  it("takes the latest trade, the later one in the array on a tie", () => {
    expect(lastPriceWei([])).toBeNull();
    expect(lastPriceWei([t(5n, 1, 30), t(7n, 1, 10), t(9n, 1, 20)])).toBe(5n);
    expect(lastPriceWei([t(5n, 1, 30), t(6n, 1, 30), t(1n, 1, 29)])).toBe(6n);
  });
});

describe("vwapWei", () => {
  const trades = [t(100n, 1, 0), t(200n, 3, 10), t(1000n, 5, 20)];
  it("weights by GPUs over [from, to), rounded down", () => {
    expect(vwapWei(trades, 0, 20)).toBe(175n);
    expect(vwapWei(trades, 0, 21)).toBe(5700n / 9n);
    expect(vwapWei([t(10n, 2, 0), t(11n, 1, 0)], 0, 1)).toBe(10n);
  });
  it("is null when nothing traded in the window", () => {
    expect(vwapWei(trades, 21, 100)).toBeNull();
    expect(vwapWei(trades, 10, 10)).toBeNull();
    expect(vwapWei([t(5n, 0, 0)], 0, 1)).toBeNull();
  });
  it("stays within the window's lowest and highest price", () => {
    const trade = fc.record({ priceWei: fc.bigInt({ min: 0n, max: 10n ** 20n }), gpus: fc.integer({ min: 1, max: 8 }), executedAtMs: fc.integer({ min: 0, max: 100 }) });
    fc.assert(
      fc.property(fc.array(trade, { minLength: 1 }), (ts) => {
        const v = vwapWei(ts, 0, 101);
        const prices = ts.map((x) => x.priceWei);
        expect(v).not.toBeNull();
        expect(prices.some((p) => p <= v!)).toBe(true);
        expect(prices.some((p) => p >= v!)).toBe(true);
      }),
    );
  });
});

describe("ewmaWei", () => {
  it("halves a trade's weight every half-life", () => {
    expect(ewmaWei([t(100n, 1, 1000), t(400n, 1, 0)], 1000, 1000)).toBe(200n);
    expect(ewmaWei([t(100n, 1, 1000), t(400n, 2, 0)], 1000, 1000)).toBe(250n);
  });
  it("leaves out trades after now and is null without any", () => {
    expect(ewmaWei([t(100n, 1, 0), t(900n, 1, 5000)], 1000, 1000)).toBe(100n);
    expect(ewmaWei([t(900n, 1, 5000)], 1000, 1000)).toBeNull();
    expect(ewmaWei([], 1000, 1000)).toBeNull();
  });
  it("still counts trades far in the past", () => {
    expect(ewmaWei([t(100n, 1, 0), t(300n, 1, 0)], 1, 1e9)).toBe(200n);
  });
  it("refuses a half-life that is not positive", () => {
    expect(() => ewmaWei([], 0, 0)).toThrow(PricingError);
    expect(() => ewmaWei([], 1, Number.NaN)).toThrow(PricingError);
  });
});
