import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { BOOK_DELTA_TOPIC, type BookDelta } from "../db/repositories/book.repository";
import type { OfferReadModel } from "../services/offer-read-model";
import { channelOf } from "./outbox-relay";

/**
 * Keeps a worker's offer read model current: loads it, feeds it the book deltas the outbox relay publishes (from any
 * process), and verifies it against a fresh snapshot every `verifyMs`. A delta missed while the subscription was down
 * is noticed by the model's sequence check before the next placement. Returns the stop function.
 */
export async function followOfferFeed(subscriber: Redis, prefix: string, model: OfferReadModel, verifyMs: number, logger: Logger): Promise<() => Promise<void>> {
  const channel = channelOf(prefix, BOOK_DELTA_TOPIC);
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    try {
      model.onDeltas([JSON.parse(message) as BookDelta]);
    } catch (err) {
      logger.warn({ err }, "offer index: ignored a malformed book delta");
    }
  };
  subscriber.on("message", onMessage);
  await subscriber.subscribe(channel);
  const started = Date.now();
  await model.load();
  logger.info({ offers: model.size, ms: Date.now() - started }, "offer index loaded");
  let verifying = false;
  const timer = setInterval(() => {
    if (verifying) return;
    verifying = true;
    model
      .verify()
      .then((differences) => differences > 0 && logger.warn({ differences }, "offer index: verification found offers that differed from the database (changes that record no book delta); corrected"))
      .catch((err) => logger.warn({ err: { message: (err as Error).message } }, "offer index: verification failed; trying again"))
      .finally(() => (verifying = false));
  }, verifyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    subscriber.off("message", onMessage);
    if (subscriber.status === "ready") await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
