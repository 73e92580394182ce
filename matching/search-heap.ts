import type { HeldOffer, OfferTree } from "./offer-tree";

/** What a search item stands for: a tree's root, a group of bands, one band from a cursor on, or one offer. */
export const SEARCH_ROOT = 0;
export const SEARCH_GROUP = 1;
export const SEARCH_BAND = 2;
export const SEARCH_OFFER = 3;

/**
 * An item of a best-first search. For SEARCH_ROOT, SEARCH_GROUP and SEARCH_BAND, `key` is a lower bound of the
 * score of every offer under it; for SEARCH_OFFER it is the offer's score.
 */
export interface SearchItem {
  key: number;
  kind: number;
  tree: OfferTree;
  slot: number;
  cursor: number;
  vramTerm: number;
  offer: HeldOffer | null;
}

function before(a: SearchItem, b: SearchItem): boolean {
  if (a.key !== b.key) return a.key < b.key;
  const aOffer = a.kind === SEARCH_OFFER;
  if (aOffer !== (b.kind === SEARCH_OFFER)) return !aOffer;
  if (!aOffer) return false;
  const x = (a.offer as HeldOffer).c;
  const y = (b.offer as HeldOffer).c;
  if (x.ordinal !== y.ordinal) return x.ordinal < y.ordinal;
  return x.offerId < y.offerId;
}

/**
 * A binary min-heap of search items, by key. On equal keys every bound (root, group, band) comes before any offer,
 * so an offer leaves the heap only when nothing left could score lower, or equal with an earlier ordinal; offers
 * with equal keys come out by ordinal, then offerId.
 */
export class SearchHeap {
  private readonly items: SearchItem[] = [];

  /** Items in the heap. */
  get size(): number {
    return this.items.length;
  }

  /** Empties the heap, keeping its storage for the next search. */
  clear(): void {
    this.items.length = 0;
  }

  /** Adds an item. O(log n). */
  push(item: SearchItem): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the first item in heap order; undefined when empty. O(log n). */
  pop(): SearchItem | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right], items[left]) ? right : left;
      if (!before(items[child], last)) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }
}
