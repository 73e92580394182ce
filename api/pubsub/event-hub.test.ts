import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import pino from "pino";
import { EventHub } from "./event-hub";
import { channelOf } from "./outbox-relay";

/** Redis pub/sub as the hub uses it: "message" events, subscribe and unsubscribe. */
class FakeSubscriber extends EventEmitter {
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
}

async function hub() {
  const redis = new FakeSubscriber();
  const events = new EventHub(redis as unknown as Redis, "t", { "book.delta": (p) => p.market as string }, pino({ level: "silent" }), 3);
  await events.start();
  const publish = (payload: Record<string, unknown>) => redis.emit("message", channelOf("t", "book.delta"), JSON.stringify(payload));
  return { events, publish };
}

it("delivers a topic's events to the listeners of their key only", async () => {
  const { events, publish } = await hub();
  const a = events.listen("book.delta", "A");
  const b = events.listen("book.delta", "B");
  publish({ market: "B", n: 1 });
  publish({ market: "A", n: 2 });
  expect((await a.next()).value).toEqual({ market: "A", n: 2 });
  expect((await b.next()).value).toEqual({ market: "B", n: 1 });
});

it("a listener ended twice (its consumer and a loop above it both return it) leaves a later listener of the key alone", async () => {
  const { events, publish } = await hub();
  const first = events.listen("book.delta", "M");
  await first.return!();
  const second = events.listen("book.delta", "M");
  await first.return!();
  publish({ market: "M", n: 1 });
  expect((await second.next()).value).toEqual({ market: "M", n: 1 });
});

it("ends a listener that falls more than its bound behind with an error, not growing memory", async () => {
  const { events, publish } = await hub();
  const slow = events.listen("book.delta", "M");
  for (let n = 0; n < 5; n++) publish({ market: "M", n });
  const got: unknown[] = [];
  await expect(
    (async () => {
      for (;;) got.push((await slow.next()).value);
    })(),
  ).rejects.toThrow(/fell more than 3 events behind/);
  expect(got).toHaveLength(3);
});
