import { BookCache } from "./book-cache";
import { OfferListFreshness } from "./freshness";

function setup(maxAgeMs = 1000) {
  let now = 10_000;
  const books = new BookCache(async () => undefined, 5000, () => now);
  const lists = new OfferListFreshness(books, maxAgeMs, () => now);
  return { books, lists, advance: (ms: number) => (now += ms) };
}

describe("OfferListFreshness", () => {
  it("keeps an anonymous page valid until its market's book is announced changed", () => {
    const { books, lists } = setup();
    const page = lists.watch("H100-80GB", false);
    expect(page.valid()).toBe(true);
    books.announce("A100-80GB", 5n); // another market
    expect(page.valid()).toBe(true);
    books.announce("H100-80GB", 1n);
    expect(page.valid()).toBe(false);
  });

  it("compares the canonical market, however the caller spelled it", () => {
    const { books, lists } = setup();
    const page = lists.watch("NVIDIA H100 80GB HBM3", false);
    books.announce("H100-80GB", 1n);
    expect(page.valid()).toBe(false);
  });

  it("ends at its max age, and at once with a max age of 0", () => {
    const { lists, advance } = setup(1000);
    const page = lists.watch("H100-80GB", false);
    advance(999);
    expect(page.valid()).toBe(true);
    advance(1);
    expect(page.valid()).toBe(false);
    expect(setup(0).lists.watch("H100-80GB", false).valid()).toBe(false);
  });

  it("without a market filter, ends with a change of any book, and with a clear of the cache", () => {
    const { books, lists } = setup();
    const all = lists.watch(undefined, false);
    books.announce("A100-80GB", 3n);
    expect(all.valid()).toBe(false);
    const again = lists.watch(undefined, false);
    books.announce("A100-80GB", 2n); // not newer than what is known: no change
    expect(again.valid()).toBe(true);
    const one = lists.watch("A100-80GB", false);
    books.clear();
    expect([again.valid(), one.valid()]).toEqual([false, false]);
  });

  it("is never valid for a signed-in caller, nor for a market that does not parse", () => {
    const { lists } = setup();
    expect(lists.watch("H100-80GB", true).valid()).toBe(false);
    expect(lists.watch("not a market!", false).valid()).toBe(false);
  });
});
