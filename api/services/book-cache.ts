import type { BookSnapshot } from "../db/repositories/book.repository";

interface Entry {
  snapshot: BookSnapshot;
  loadedAtMs: number;
}

/**
 * Per-market cache of book snapshots, invalidated by sequence: an entry serves reads while no newer
 * sequence of its market has been announced (by this process's commits or by pub/sub from others).
 * A load that raced with a change is never stored over the newer knowledge. `maxAgeMs` bounds how long a
 * lost announcement could keep an entry stale.
 */
export class BookCache {
  private readonly entries = new Map<string, Entry>();
  private readonly known = new Map<string, bigint>();
  private readonly loading = new Map<string, Promise<BookSnapshot | undefined>>();
  /** Announcements that raised a market's sequence, and clears: together they say "some book changed". */
  private raised = 0;
  private clears = 0;

  constructor(
    private readonly load: (market: string) => Promise<BookSnapshot | undefined>,
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The cached snapshot of a market while it is fresh (what `get` would return without loading), else undefined. */
  peek(market: string): BookSnapshot | undefined {
    const entry = this.entries.get(market);
    if (entry && entry.snapshot.sequence >= (this.known.get(market) ?? 0n) && this.clock() - entry.loadedAtMs < this.maxAgeMs) {
      return entry.snapshot;
    }
    return undefined;
  }

  /** The market's book, from the cache when fresh; concurrent misses share one load. */
  async get(market: string): Promise<BookSnapshot | undefined> {
    const fresh = this.peek(market);
    if (fresh) return fresh;
    const pending = this.loading.get(market);
    if (pending) return pending;
    const started = this.clock();
    const promise = this.load(market)
      .then((snapshot) => {
        if (snapshot && snapshot.sequence >= (this.known.get(market) ?? 0n)) this.entries.set(market, { snapshot, loadedAtMs: started });
        return snapshot;
      })
      .finally(() => this.loading.delete(market));
    this.loading.set(market, promise);
    return promise;
  }

  /** Announces that `market` reached `sequence`: older entries stop serving. */
  announce(market: string, sequence: bigint): void {
    if (sequence > (this.known.get(market) ?? 0n)) {
      this.known.set(market, sequence);
      this.raised++;
    }
  }

  /**
   * A value that differs once a change of `market`'s book (without a market: of any book) has been announced, or the
   * cache was cleared: what a reader compares to know that nothing it read from the books has moved since.
   */
  version(market?: string): string {
    return market === undefined ? `${this.clears}:${this.raised}` : `${this.clears}:${this.known.get(market) ?? 0n}`;
  }

  /** Drops everything (e.g. when the announcement channel reconnects and may have missed some). */
  clear(): void {
    this.clears++;
    this.entries.clear();
    this.known.clear();
  }
}
