import { applyDelta, bookFromSnapshot, type BookDelta, type OrderBook } from "./book";
import type { ExchangeClient, SubscriptionObserver } from "./client";
import { toExchangeError, type ExchangeError } from "./errors";
import { OrderBookDocument, OrderBookUpdatesDocument } from "./generated/graphql";

/** A feed of one market's book deltas; returns the function that ends it. */
export type DeltaSource = (market: string, observer: SubscriptionObserver<BookDelta>) => () => void;

/** The API's `orderBookUpdates(market)` subscription as a {@link DeltaSource}. */
export function orderBookDeltas(client: ExchangeClient): DeltaSource {
  return (market, observer) =>
    client.subscribe(OrderBookUpdatesDocument, { market }, { next: (d) => observer.next(d.orderBookUpdates), error: observer.error, complete: observer.complete });
}

/** Why the keeper (re)loaded a snapshot. */
export interface Resync {
  reason: "start" | "gap" | "feed-restarted" | "requested";
  /** For a gap: the sequence the book was at, and the delta's. */
  at?: bigint;
  got?: bigint;
}

/** Options of {@link keepOrderBook}. */
export interface BookKeeperOptions {
  /** Levels per side of each snapshot (1 to 500; default 500, the most the API serves). */
  depth?: number;
  /** Called with the book after the first snapshot and after every change. */
  onChange?(book: OrderBook): void;
  /** Called when a snapshot is loaded: at the start, after a gap, after the feed restarted. */
  onResync?(resync: Resync): void;
  /** Called with errors the keeper recovers from by retrying (snapshot failures, a feed that failed). */
  onError?(error: ExchangeError): void;
  /** Where the deltas come from (default the API's subscription); tests wrap it to drop one. */
  deltas?: DeltaSource;
  /** Waits before a retry (default setTimeout). */
  delay?(ms: number): Promise<void>;
}

/** A book kept live. */
export interface BookKeeper {
  /** The book now; undefined before the first snapshot. */
  readonly book: OrderBook | undefined;
  /** How many snapshots were loaded (1 after the start). */
  readonly snapshots: number;
  /** Resolves with the book once `predicate` holds of it (checked now and after every change). */
  until(predicate: (book: OrderBook) => boolean, options?: { signal?: AbortSignal }): Promise<OrderBook>;
  /** Loads a new snapshot now. */
  resync(): void;
  /** Stops: the feed ends, nothing more is called. */
  close(): void;
}

const defaultDelay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Keeps one market's order book by the API's rule: subscribe to `orderBookUpdates`, load an `orderBook` snapshot
 * (deltas that arrive meanwhile wait), ignore deltas at or below the snapshot's sequence, apply the rest in order;
 * a sequence that jumps means a delta was missed: load a new snapshot (deltas wait again). A feed that fails is
 * subscribed again and the book reloaded; failed snapshots are retried with backoff.
 */
export function keepOrderBook(client: ExchangeClient, market: string, options: BookKeeperOptions = {}): BookKeeper {
  const depth = options.depth ?? 500;
  const source = options.deltas ?? orderBookDeltas(client);
  const delay = options.delay ?? defaultDelay;
  let book: OrderBook | undefined;
  let snapshots = 0;
  let closed = false;
  let loading = false;
  let reloadAgain: Resync | undefined;
  let buffered: BookDelta[] = [];
  let failures = 0;
  let unsubscribe: (() => void) | undefined;
  const waiters = new Set<() => void>();

  const changed = (b: OrderBook) => {
    options.onChange?.(b);
    for (const w of [...waiters]) w();
  };

  function onDelta(delta: BookDelta) {
    if (closed || delta.market !== market) return;
    if (loading || !book) {
      buffered.push(delta);
      return;
    }
    const { book: next, outcome } = applyDelta(book, delta);
    if (outcome === "gap") return void load({ reason: "gap", at: book.sequence, got: BigInt(delta.sequence) });
    if (outcome === "applied") {
      book = next;
      failures = 0;
      changed(book);
    }
  }

  async function load(why: Resync): Promise<void> {
    if (closed) return;
    if (loading) {
      reloadAgain = why;
      return;
    }
    loading = true;
    buffered = [];
    try {
      for (;;) {
        if (failures > 0) await delay(Math.min(100 * 2 ** (failures - 1), 5_000));
        if (closed) return;
        let snapshot: OrderBook;
        try {
          const { orderBook } = await client.request(OrderBookDocument, { market, depth });
          snapshot = bookFromSnapshot(orderBook);
        } catch (err) {
          failures++;
          options.onError?.(toExchangeError(err, "OrderBook"));
          continue;
        }
        if (closed) return;
        snapshots++;
        options.onResync?.(why);
        let next = snapshot;
        let gap: Resync | undefined;
        for (const delta of buffered.sort((a, b) => (BigInt(a.sequence) < BigInt(b.sequence) ? -1 : 1))) {
          const r = applyDelta(next, delta);
          if (r.outcome === "gap") {
            gap = { reason: "gap", at: next.sequence, got: BigInt(delta.sequence) };
            break;
          }
          next = r.book;
        }
        buffered = [];
        book = next;
        changed(book);
        const again = gap ?? reloadAgain;
        reloadAgain = undefined;
        if (!again) {
          failures = 0;
          return;
        }
        failures++;
        why = again;
      }
    } finally {
      loading = false;
    }
  }

  function subscribe(why: Resync) {
    unsubscribe = source(market, {
      next: onDelta,
      error: (err) => {
        options.onError?.(err);
        restart();
      },
      complete: () => restart(),
    });
    void load(why);
  }

  function restart() {
    if (closed) return;
    unsubscribe = undefined;
    failures++;
    void delay(Math.min(100 * 2 ** (failures - 1), 5_000)).then(() => {
      if (!closed) subscribe({ reason: "feed-restarted" });
    });
  }

  subscribe({ reason: "start" });

  return {
    get book() {
      return book;
    },
    get snapshots() {
      return snapshots;
    },
    until(predicate, opts = {}) {
      return new Promise<OrderBook>((resolve, reject) => {
        const check = () => {
          if (book && predicate(book)) {
            waiters.delete(check);
            resolve(book);
          }
        };
        opts.signal?.addEventListener("abort", () => {
          waiters.delete(check);
          reject(toExchangeError(Object.assign(new Error("aborted"), { name: "AbortError" })));
        });
        waiters.add(check);
        check();
      });
    },
    resync: () => void load({ reason: "requested" }),
    close() {
      closed = true;
      waiters.clear();
      unsubscribe?.();
    },
  };
}
