import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { BOOK_DELTA_TOPIC, type BookDelta } from "../db/repositories/book.repository";
import type { BookCache } from "../services/book-cache";
import { channelOf } from "./outbox-relay";

/**
 * Listens to book deltas published by the outbox relay (from any instance) and announces their sequences
 * to this instance's book cache. On (re)subscription the cache is cleared, since deltas may have been missed.
 */
export async function followBookAnnouncements(subscriber: Redis, prefix: string, books: BookCache, logger: Logger): Promise<() => Promise<void>> {
  const channel = channelOf(prefix, BOOK_DELTA_TOPIC);
  subscriber.on("message", (from, message) => {
    if (from !== channel) return;
    try {
      const delta = JSON.parse(message) as BookDelta;
      books.announce(delta.market, BigInt(delta.sequence));
    } catch (err) {
      logger.warn({ err }, "ignored a malformed book announcement");
    }
  });
  subscriber.on("ready", () => books.clear());
  await subscriber.subscribe(channel);
  books.clear();
  return async () => {
    if (subscriber.status === "ready") await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
