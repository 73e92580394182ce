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
  reason: "start" | "gap" | "stale" | "feed-restarted" | "requested";
  /** For a gap: the sequence the book was at, and the delta's; for a stale book: the book's and the server's. */
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
  /**
   * Called with each error: those it recovers from by retrying (UNAVAILABLE, a network failure, a feed that failed),
   * and a final one that stops the keeper (a snapshot refused for good, such as NOT_FOUND or BAD_USER_INPUT).
   */
  onError?(error: ExchangeError): void;
  /** Where the deltas come from (default the API's subscription); tests wrap it to drop one. */
  deltas?: DeltaSource;
  /**
   * Every this many ms, the keeper reads the market's sequence; a book still behind it one period later (a delta
   * lost with none after it to show the gap, or missed while the subscription was being set up) is reloaded
   * (default 15 s; 0: never).
   */
  verifyMs?: number;
}

/** A book kept live. */
export interface BookKeeper {
  /** The book now; undefined before the first snapshot. */
  readonly book: OrderBook | undefined;
  /** How many snapshots were loaded (1 after the start). */
  readonly snapshots: number;
  /** The error that stopped the keeper, if one did. */
  readonly error: ExchangeError | undefined;
  /** Resolves with the book once `predicate` holds of it (checked now and after every change); rejects if the keeper stops on an error. */
  until(predicate: (book: OrderBook) => boolean, options?: { signal?: AbortSignal }): Promise<OrderBook>;
  /** Loads a new snapshot now. */
  resync(): void;
  /** Stops: the feed ends, nothing more is called. */
  close(): void;
}

/**
 * Keeps one market's order book by the API's rule: subscribe to `orderBookUpdates`, load an `orderBook` snapshot
 * (deltas that arrive meanwhile wait), ignore deltas at or below the snapshot's sequence, apply the rest in order;
 * a sequence that jumps means a delta was missed: load a new snapshot (deltas wait again). A feed that fails is
 * subscribed again and the book reloaded; failed snapshots are retried with backoff.
 */
export function keepOrderBook(client: ExchangeClient, market: string, options: BookKeeperOptions = {}): BookKeeper {
  const depth = options.depth ?? 500;
  const source = options.deltas ?? orderBookDeltas(client);
  const verifyMs = options.verifyMs ?? 15_000;
  const closing = new AbortController();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      closing.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
  let book: OrderBook | undefined;
  let snapshots = 0;
  let closed = false;
  let loading = false;
  let reloadAgain: Resync | undefined;
  let buffered: BookDelta[] = [];
  let failures = 0;
  let unsubscribe: (() => void) | undefined;
  let failure: ExchangeError | undefined;
  const waiters = new Set<{ check: () => void; fail: (e: ExchangeError) => void }>();

  const changed = (b: OrderBook) => {
    options.onChange?.(b);
    for (const w of [...waiters]) w.check();
  };

  function stop(error: ExchangeError) {
    failure = error;
    options.onError?.(error);
    close();
    for (const w of [...waiters]) w.fail(error);
    waiters.clear();
  }

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
          const error = toExchangeError(err, "OrderBook");
          if (!error.retryable) return stop(error);
          failures++;
          options.onError?.(error);
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

  async function verify() {
    let behind: bigint | undefined;
    while (verifyMs > 0 && !closed) {
      await delay(verifyMs);
      if (closed || loading || !book) continue;
      if (behind !== undefined && book.sequence < behind) {
        const stale: Resync = { reason: "stale", at: book.sequence, got: behind };
        behind = undefined;
        void load(stale);
        continue;
      }
      try {
        const { orderBook } = await client.request(OrderBookDocument, { market, depth: 1 });
        const sequence = BigInt(orderBook.sequence);
        behind = book && sequence > book.sequence ? sequence : undefined;
      } catch (err) {
        options.onError?.(toExchangeError(err, "OrderBook"));
      }
    }
  }

  function close() {
    closed = true;
    closing.abort();
    unsubscribe?.();
  }

  subscribe({ reason: "start" });
  void verify();

  return {
    get book() {
      return book;
    },
    get snapshots() {
      return snapshots;
    },
    get error() {
      return failure;
    },
    until(predicate, opts = {}) {
      return new Promise<OrderBook>((resolve, reject) => {
        if (failure) return reject(failure);
        const waiter = {
          check: () => {
            if (book && predicate(book)) {
              waiters.delete(waiter);
              resolve(book);
            }
          },
          fail: reject,
        };
        opts.signal?.addEventListener("abort", () => {
          waiters.delete(waiter);
          reject(toExchangeError(Object.assign(new Error("aborted"), { name: "AbortError" })));
        });
        waiters.add(waiter);
        waiter.check();
      });
    },
    resync: () => void load({ reason: "requested" }),
    close() {
      close();
      waiters.clear();
    },
  };
}
