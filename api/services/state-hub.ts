import { ticks } from "./ticks";

/** The newest value not yet taken: a state feed's buffer, where a slow reader skips to the latest. */
class Latest<T> {
  private value: T | undefined;
  private has = false;
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  put(value: T): void {
    this.value = value;
    this.has = true;
    this.wake?.();
  }

  end(error?: unknown): void {
    this.ended = true;
    this.error = error;
    this.wake?.();
  }

  /** The newest value since the last take; undefined once ended (or the error it ended with, thrown). */
  async take(): Promise<T | undefined> {
    while (!this.has && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (!this.has) {
      if (this.error !== undefined) throw this.error;
      return undefined;
    }
    this.has = false;
    return this.value;
  }
}

/** A change source that changes when told to (a refresh), folded into the ticks like any other change. */
class Kicks implements AsyncIterator<unknown> {
  private pending = false;
  private done = false;
  private wake: (() => void) | undefined;

  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  async next(): Promise<IteratorResult<unknown>> {
    while (!this.pending && !this.done) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (this.done) return { value: undefined, done: true };
    this.pending = false;
    return { value: undefined, done: false };
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.done = true;
    this.wake?.();
    return { value: undefined, done: true };
  }
}

interface Running<T> {
  listeners: Set<Latest<T>>;
  sources: AsyncIterator<unknown>[];
  kicks: Kicks;
}

/**
 * One state computation per key (a market's ticker) per change window on this instance, whatever the number of
 * subscribers. Each subscriber gets a state computed when it subscribes, then every shared one computed after it
 * (an older one is skipped); it holds at most one it has not taken, so a slow subscriber skips to the newest. The
 * change sources are listened to while the key has subscribers, and returned when the last one leaves.
 */
export class StateHub<T extends { at: Date }> {
  private readonly running = new Map<string, Running<T>>();

  constructor(
    private readonly changes: (key: string) => AsyncIterator<unknown>[],
    private readonly compute: (key: string) => Promise<T>,
    private readonly minGapMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Subscribers on this instance, over all keys. */
  get size(): number {
    let n = 0;
    for (const r of this.running.values()) n += r.listeners.size;
    return n;
  }

  /**
   * The key's states from now on. An iterator rather than an async generator, so that `return()` (the client left)
   * takes effect at once even while a `next()` waits for a change.
   */
  stream(key: string): AsyncIterableIterator<T> {
    const mine = new Latest<T>();
    this.attach(key, mine);
    const done: IteratorResult<T> = { value: undefined, done: true };
    let first: T | undefined;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      mine.end();
      this.detach(key, mine);
    };
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        try {
          if (closed) return done;
          if (first === undefined) {
            first = await this.compute(key);
            return closed ? done : { value: first, done: false };
          }
          for (;;) {
            const next = await mine.take();
            if (next === undefined || closed) {
              close();
              return done;
            }
            if (next.at.getTime() >= first.at.getTime()) return { value: next, done: false };
          }
        } catch (err) {
          close();
          throw err;
        }
      },
      return: async () => {
        close();
        return done;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Computes the key's state again for all its subscribers, as a change would (folded into the same ticks, so at most
   * one computation per gap whatever the number of calls). Nothing happens for a key without subscribers.
   */
  refresh(key: string): void {
    this.running.get(key)?.kicks.kick();
  }

  private attach(key: string, listener: Latest<T>): void {
    const running = this.running.get(key);
    if (running) {
      running.listeners.add(listener);
      return;
    }
    const kicks = new Kicks();
    const started: Running<T> = { listeners: new Set([listener]), sources: [...this.changes(key), kicks], kicks };
    this.running.set(key, started);
    void this.loop(key, started);
  }

  private detach(key: string, listener: Latest<T>): void {
    const running = this.running.get(key);
    if (!running?.listeners.delete(listener) || running.listeners.size > 0) return;
    this.running.delete(key);
    // ending the sources ends the tick loop (ticks returns when a source is done)
    for (const s of running.sources) void s.return?.();
  }

  private async loop(key: string, running: Running<T>): Promise<void> {
    let failure: unknown;
    try {
      for await (const _ of ticks(running.sources, this.minGapMs)) {
        if (running.listeners.size === 0) break;
        let state: T;
        try {
          state = await this.compute(key);
        } catch (err) {
          this.onError(err); // this tick is lost; the next change computes again
          continue;
        }
        for (const listener of running.listeners) listener.put(state);
      }
    } catch (err) {
      failure = err; // a source failed (e.g. fell behind): the subscribers end with its error
    } finally {
      if (this.running.get(key) === running) this.running.delete(key);
      for (const listener of running.listeners) listener.end(failure);
    }
  }
}
