import { bookFromSnapshot } from "../book";
import { renderBook } from "./book-view";

it("draws asks above the spread (best next to it), bids below, with cumulative depth bars", () => {
  const book = bookFromSnapshot({
    market: "H100-80GB",
    sequence: "12",
    asks: [
      { price: "2.5", gpus: 2, orders: 1 },
      { price: "10", gpus: 6, orders: 3 },
    ],
    bids: [{ price: "2.25", gpus: 4, orders: 2 }],
  });
  const lines = renderBook(book, { depth: 10, width: 48 });
  expect(lines[0]).toBe("H100-80GB  sequence 12  best ask 2.5  best bid 2.25  spread 0.25");
  expect(lines.slice(2).map((l) => l.replace(/#+$/, (bars) => `<${bars.length}>`))).toEqual([
    // 27 characters of numbers, 21 of bar: the deepest point (8 GPUs, both asks) is all 21
    "ASK    10       6       3  <21>",
    "ASK   2.5       2       1  <5>",
    "-".repeat(48),
    "BID  2.25       4       2  <11>",
  ]);
  expect(renderBook(bookFromSnapshot({ market: "M", sequence: "0", asks: [], bids: [] }), { depth: 5, width: 40 }).slice(2)).toEqual([
    "ASK (no offers)",
    expect.stringMatching(/^-+$/),
    "BID (no resting jobs)",
  ]);
});
