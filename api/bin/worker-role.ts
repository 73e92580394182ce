import { dedicatedConnections } from "../db/dedicated";
import { startMaintenance } from "../queues/maintenance.queue";
import { startMatching } from "../queues/matching.queue";
import { followOfferFeed } from "../pubsub/offer-feed";
import { OutboxRelay } from "../pubsub/outbox-relay";
import { OfferReadModel } from "../services/offer-read-model";
import type { Infrastructure } from "./infrastructure";

/**
 * The worker role: the outbox relay (one leader), offer expiry and relay charges, matching with its reconciler and lease
 * sweep; with MATCHING_CANDIDATES=index, the offer index read model matching chooses candidates from.
 */
export async function startWorkerRole({ config, logger, db, redis, matchQueue, maintenanceQueue, services, shutdown }: Infrastructure): Promise<void> {
  const relay = new OutboxRelay(dedicatedConnections(config.DATABASE_URL), redis, config.QUEUE_PREFIX, logger);
  await relay.start();
  shutdown.add("the outbox relay", () => relay.stop());
  const maintenance = await startMaintenance({
    queue: maintenanceQueue,
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    offers: services.offers,
    db,
    logger,
    sweepMs: config.OFFER_EXPIRY_SWEEP_MS,
    chargeRelayJobs: () => services.relay.chargeEnded(),
    expireJobs: async () =>
      (await services.jobs.expire(await services.jobOrders.dueToExpire(), "its signed order expires before the job could run and settle; submit it again with a new order")) +
      (await services.jobs.expire(await services.jobOrders.uncoveredUnsigned(), "your on-chain spending allowance no longer covers this job until it could run and settle (a decrease you requested, or its end): raise it with Escrow.approveSpending, or submit the job again with a signed order")),
    retention: { sweep: () => services.retention.sweep(), everyMs: config.ARTIFACT_SWEEP_MS },
  });
  shutdown.add("maintenance", () => maintenance.stop());
  if (config.MATCHING_CANDIDATES === "index") {
    const model = new OfferReadModel(db, { heartbeatWindowSeconds: config.HEARTBEAT_WINDOW_SECONDS, fenceMs: config.MATCH_INDEX_FENCE_MS });
    const feed = redis.duplicate();
    feed.on("error", () => undefined);
    shutdown.add("the offer index feed", async () => feed.disconnect());
    shutdown.add("the offer index", await followOfferFeed(feed, config.QUEUE_PREFIX, model, config.MATCH_INDEX_VERIFY_MS, logger));
    services.matching.useReadModel(model);
  }
  const matching = await startMatching({
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    db,
    matching: services.matching,
    producer: matchQueue,
    logger,
    concurrency: config.MATCH_CONCURRENCY,
    reconcileMs: config.RECONCILE_MS,
    restingRetryMs: config.RESTING_RETRY_MS,
    lockMs: config.MATCH_LOCK_MS,
    batchSize: config.MATCH_BATCH_SIZE,
    assignments: services.assignments,
    leaseSweepMs: config.LEASE_SWEEP_MS,
  });
  shutdown.add("matching", () => matching.stop());
}
