import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { EventStreams } from "../services/events";
import { channelOf } from "./outbox-relay";

/** How an event's key is read from its payload, per topic. */
export type TopicKeys = Record<string, (payload: Record<string, unknown>) => string | undefined>;

interface Listener {
  push(payload: unknown): void;
}

/**
 * Fans events from Redis pub/sub out to this instance's subscribers: one Redis subscription per topic per
 * instance, whatever the number of listeners. Each listener buffers at most `maxBuffered` events; a consumer
 * that falls further behind is ended with an error rather than growing memory without bound.
 */
export class EventHub implements EventStreams {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly byChannel = new Map<string, string>();

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly keys: TopicKeys,
    private readonly logger: Logger,
    private readonly maxBuffered = 1000,
  ) {}

  async start(): Promise<() => Promise<void>> {
    for (const topic of Object.keys(this.keys)) this.byChannel.set(channelOf(this.prefix, topic), topic);
    const onMessage = (channel: string, message: string) => {
      const topic = this.byChannel.get(channel);
      if (!topic) return;
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(message);
      } catch (err) {
        this.logger.warn({ err, topic }, "ignored a malformed event");
        return;
      }
      const key = this.keys[topic](payload);
      if (key === undefined) return;
      for (const listener of this.listeners.get(`${topic}\u0000${key}`) ?? []) listener.push(payload);
    };
    this.subscriber.on("message", onMessage);
    await this.subscriber.subscribe(...this.byChannel.keys());
    return async () => {
      this.subscriber.off("message", onMessage);
      if (this.subscriber.status === "ready") await this.subscriber.unsubscribe(...this.byChannel.keys()).catch(() => undefined);
    };
  }

  listen<T>(topic: string, key: string): AsyncIterableIterator<T> {
    const slot = `${topic}\u0000${key}`;
    const queue: T[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let overflow = false;
    const listener: Listener = {
      push: (payload) => {
        if (ended) return;
        if (queue.length >= this.maxBuffered) {
          overflow = true;
          ended = true;
        } else queue.push(payload as T);
        wake?.();
      },
    };
    const set = this.listeners.get(slot) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(slot, set);
    // idempotent, and it removes the slot only while it is still this set: a later subscriber's set is not ours
    const detach = () => {
      ended = true;
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(slot) === set) this.listeners.delete(slot);
      wake?.();
    };
    const maxBuffered = this.maxBuffered;
    const iterator: AsyncIterableIterator<T> = {
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          if (overflow) {
            detach();
            throw new Error(`this subscriber fell more than ${maxBuffered} events behind; subscribe again`);
          }
          if (ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        detach();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
