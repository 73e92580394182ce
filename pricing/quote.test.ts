import fc from "fast-check";
import { costWei, holdWei } from "./cost";
import { PricingError } from "./errors";
import { quoteOf, type QuoteInput } from "./quote";

const ONE = 10n ** 18n;
const base: QuoteInput = {
  chosenPricesWei: [],
  matchingOffers: 0,
  gpuCount: 2,
  maxDurationSeconds: 1800,
  redundancy: 1,
  maxPriceWei: null,
  recentWaitSeconds: [],
};

describe("quoteOf", () => {
  it("costs the chosen offers and holds at the cap", () => {
    expect(quoteOf({ ...base, chosenPricesWei: [3n * ONE, 2n * ONE], matchingOffers: 7, redundancy: 2, maxPriceWei: 4n * ONE })).toEqual({
      matchingOffers: 7,
      bestPriceWei: 2n * ONE,
      estimatedCostWei: 5n * ONE,
      maxCostWei: 8n * ONE,
      expectedWaitSeconds: 0,
    });
  });
  it("uses the highest chosen price as the cap when none is given", () => {
    const q = quoteOf({ ...base, chosenPricesWei: [2n * ONE, 3n * ONE], redundancy: 2 });
    expect(q.maxCostWei).toBe(holdWei(3n * ONE, 2, 1800, 2));
    expect(quoteOf(base).maxCostWei).toBeNull();
  });
  it("costs only one offer per replica", () => {
    expect(quoteOf({ ...base, chosenPricesWei: [ONE, 5n * ONE] }).estimatedCostWei).toBe(costWei(ONE, 2, 1800));
  });
  it("has no estimate but a median wait when too few offers are chosen", () => {
    const q = quoteOf({ ...base, chosenPricesWei: [ONE], redundancy: 2, maxPriceWei: ONE, recentWaitSeconds: [30, 1, 10, 11] });
    expect(q.estimatedCostWei).toBeNull();
    expect(q.bestPriceWei).toBe(ONE);
    expect(q.expectedWaitSeconds).toBe(11);
    expect(quoteOf({ ...base, recentWaitSeconds: [4.2, 1, 9] }).expectedWaitSeconds).toBe(5);
    expect(quoteOf({ ...base, recentWaitSeconds: [] }).expectedWaitSeconds).toBeNull();
  });
  it("refuses a redundancy below 1 and negative waits", () => {
    expect(() => quoteOf({ ...base, redundancy: 0 })).toThrow(PricingError);
    expect(() => quoteOf({ ...base, recentWaitSeconds: [-1] })).toThrow(PricingError);
  });
  it("never estimates more than it holds when the chosen prices are within the cap", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 10n * ONE }), { maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 10n * ONE }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 86400 }),
        (prices, extra, redundancy, gpuCount, maxDurationSeconds) => {
          const cap = prices.reduce((m, p) => (p > m ? p : m), 0n) + extra;
          for (const maxPriceWei of [cap, null]) {
            const q = quoteOf({ ...base, chosenPricesWei: prices, redundancy, gpuCount, maxDurationSeconds, maxPriceWei });
            if (q.estimatedCostWei !== null) expect(q.estimatedCostWei <= q.maxCostWei!).toBe(true);
            expect(q.estimatedCostWei === null).toBe(prices.length < redundancy);
          }
        },
      ),
    );
  });
});
