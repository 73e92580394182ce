import fc from "fast-check";
import { applyDelta, bookFromSnapshot, sameBook, type BookDelta, type OrderBook, type PriceLevel } from "./book";
import { decimalToUnits, unitsToDecimal } from "./decimal";

const M = "H100-80GB";

/** A model of the book: level by price units, per side. */
type Model = { ASK: Map<bigint, PriceLevel>; BID: Map<bigint, PriceLevel> };

const sorted = (model: Model, side: "ASK" | "BID") =>
  [...model[side].entries()].sort(([a], [b]) => (side === "ASK" ? (a < b ? -1 : 1) : a < b ? 1 : -1)).map(([, l]) => l);

const levelChange = fc.record({
  side: fc.constantFrom<"ASK" | "BID">("ASK", "BID"),
  // prices with up to 3 decimals, 0.001 to 30: string order and value order differ ("10" < "9.5" as strings)
  units: fc.integer({ min: 1, max: 30_000 }).map((n) => BigInt(n) * 10n ** 15n),
  gpus: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
  orders: fc.integer({ min: 1, max: 5 }),
});

it("a snapshot plus the deltas after it, in sequence, equals the book the changes made, sorted by price value", () => {
  fc.assert(
    fc.property(fc.array(levelChange, { maxLength: 30 }), fc.array(levelChange, { maxLength: 60 }), (before, after) => {
      const model: Model = { ASK: new Map(), BID: new Map() };
      const set = (c: (typeof before)[number]) => {
        if (c.gpus === 0) model[c.side].delete(c.units);
        else model[c.side].set(c.units, { price: unitsToDecimal(c.units), gpus: c.gpus, orders: c.orders });
      };
      before.forEach(set);
      let book = bookFromSnapshot({ market: M, sequence: String(before.length), asks: sorted(model, "ASK").reverse(), bids: sorted(model, "BID").reverse() });
      after.forEach((c, i) => {
        set(c);
        const delta: BookDelta = { market: M, sequence: String(before.length + i + 1), side: c.side, price: unitsToDecimal(c.units), gpus: c.gpus, orders: c.orders };
        const r = applyDelta(book, delta);
        expect(r.outcome).toBe("applied");
        book = r.book;
      });
      const expected: OrderBook = { market: M, sequence: BigInt(before.length + after.length), asks: sorted(model, "ASK"), bids: sorted(model, "BID") };
      expect(sameBook(book, expected)).toBe(true);
      for (let i = 1; i < book.asks.length; i++) expect(decimalToUnits(book.asks[i - 1].price) < decimalToUnits(book.asks[i].price)).toBe(true);
      for (let i = 1; i < book.bids.length; i++) expect(decimalToUnits(book.bids[i - 1].price) > decimalToUnits(book.bids[i].price)).toBe(true);
    }),
  );
});

describe("applyDelta", () => {
  const book = bookFromSnapshot({ market: M, sequence: "7", asks: [{ price: "2", gpus: 4, orders: 1 }], bids: [{ price: "1", gpus: 2, orders: 2 }] });
  const delta = (sequence: string, over: Partial<BookDelta> = {}): BookDelta => ({ market: M, sequence, side: "ASK", price: "1.5", gpus: 8, orders: 1, ...over });

  it("ignores deltas at or below the book's sequence, and other markets'", () => {
    for (const d of [delta("7"), delta("3"), delta("8", { market: "A100-80GB" })]) {
      const r = applyDelta(book, d);
      expect(r).toEqual({ book, outcome: "stale" });
    }
  });

  it("calls a jump in sequence a gap and leaves the book as it was", () => {
    expect(applyDelta(book, delta("9"))).toEqual({ book, outcome: "gap" });
  });

  it("sets, inserts and removes levels without changing the book given", () => {
    const inserted = applyDelta(book, delta("8")).book;
    expect(inserted.asks.map((l) => l.price)).toEqual(["1.5", "2"]);
    expect(book.asks.map((l) => l.price)).toEqual(["2"]);
    const removed = applyDelta(inserted, delta("9", { price: "2.0", gpus: 0 })).book;
    expect(removed.asks).toEqual([{ price: "1.5", gpus: 8, orders: 1 }]);
    const bid = applyDelta(removed, delta("10", { side: "BID", price: "1", gpus: 5, orders: 3 })).book;
    expect(bid.bids).toEqual([{ price: "1", gpus: 5, orders: 3 }]);
    expect(bid.sequence).toBe(10n);
  });
});
