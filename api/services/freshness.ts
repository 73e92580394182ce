import { parseMarketId } from "../../matching";
import type { BookCache } from "./book-cache";

/** Something a response was built from: the response stays right while `valid()` says so (the response cache). */
export interface Freshness {
  valid(): boolean;
}

/**
 * How long an anonymous caller's offers page may be served again (the response cache): while no change of the
 * filter's market book (of any book, without a market filter) has been announced since the page was read, and for at
 * most `maxAgeMs`. Book announcements cover every change of an offer's price or free GPUs; the age bounds what they do
 * not carry (a node's heartbeat fields, a provider's reputation, an offer reaching its expiry, a change of an offer
 * with no free GPUs). Signed-in callers are never served a cached page, so a provider reads its own writes at once.
 */
export class OfferListFreshness {
  constructor(
    private readonly books: Pick<BookCache, "version">,
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Taken before the page is read, so a change that lands while it is read already invalidates it. */
  watch(marketText: string | undefined, signedIn: boolean): Freshness {
    if (signedIn || this.maxAgeMs <= 0) return { valid: () => false };
    const market = marketText === undefined ? undefined : canonical(marketText);
    if (market === null) return { valid: () => false };
    const version = this.books.version(market);
    const readAt = this.clock();
    return { valid: () => this.clock() - readAt < this.maxAgeMs && this.books.version(market) === version };
  }
}

function canonical(market: string): string | null {
  try {
    return parseMarketId(market).id;
  } catch {
    return null;
  }
}
