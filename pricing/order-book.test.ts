import fc from "fast-check";
import { aggregateLevels } from "./order-book";

describe("aggregateLevels", () => {
  const orders = [
    { priceWei: 3n, gpus: 2 },
    { priceWei: 1n, gpus: 4 },
    { priceWei: 3n, gpus: 1 },
    { priceWei: 2n, gpus: 0 },
  ];
  it("sums orders at one price, asks ascending", () => {
    expect(aggregateLevels(orders, "ASK")).toEqual([
      { priceWei: 1n, gpus: 4, orders: 1 },
      { priceWei: 3n, gpus: 3, orders: 2 },
    ]);
  });
  it("orders bids descending and honours depth", () => {
    expect(aggregateLevels(orders, "BID", 1)).toEqual([{ priceWei: 3n, gpus: 3, orders: 2 }]);
  });
  it("keeps every GPU and order on offer", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ priceWei: fc.bigInt({ min: 0n, max: 50n }), gpus: fc.integer({ min: 0, max: 16 }) })), (input) => {
        const levels = aggregateLevels(input, "ASK");
        expect(levels.reduce((s, l) => s + l.gpus, 0)).toBe(input.reduce((s, o) => s + o.gpus, 0));
        expect(levels.reduce((s, l) => s + l.orders, 0)).toBe(input.filter((o) => o.gpus > 0).length);
        for (let i = 1; i < levels.length; i++) expect(levels[i - 1].priceWei < levels[i].priceWei).toBe(true);
      }),
    );
  });
});
