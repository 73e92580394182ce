import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { deleteExpiredAuthNonces } from "../db/repositories/auth.repository";
import type { OfferService } from "../services/offer.service";
import { logConnectionErrors } from "./connection-errors";
import { within } from "./within";

/** How often the sweep's schedule is laid again (so a Redis restarted empty gets it back). */
const RESCHEDULE_MS = 30_000;

export const MAINTENANCE_QUEUE = "maintenance";

/**
 * The maintenance queue: a job scheduler runs the sweep every `sweepMs` — expiring offers past their
 * expiresAt (with book deltas), expiring pending jobs whose signed order ends too soon, withdrawing the cancel-on-disconnect offers of silent nodes, charging relay jobs that ended, deleting sign-in challenges that expired
 * over an hour ago, and (less often) the retention sweep of stored bytes.
 */
export async function startMaintenance(deps: {
  /** The process's one maintenance queue (its owner closes it). */
  queue: Queue;
  connection: Redis;
  prefix: string;
  offers: OfferService;
  db: DataSource;
  logger: Logger;
  sweepMs: number;
  /** Charges relay jobs that ended (USD at the rate fixed at submit). */
  chargeRelayJobs?: () => Promise<number>;
  /** Expires PENDING jobs whose signed order expires before they could run and settle. */
  expireJobs?: () => Promise<number>;
  /** The retention sweep of stored bytes, run at most every `retentionMs`. */
  retention?: { sweep: () => Promise<{ released: Record<string, number>; blobsDeleted: number }>; everyMs: number };
}) {
  let retentionRanAt = 0;
  const queue = deps.queue;
  const schedule = () => queue.upsertJobScheduler("sweep", { every: deps.sweepMs }, { name: "sweep", data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  await schedule();
  // the schedule lives in Redis, which keeps nothing across a restart: it is laid again (idempotently) while running
  const reschedule = setInterval(() => void within(schedule(), 5000, "re-laying the sweep schedule").catch(() => undefined), RESCHEDULE_MS);
  reschedule.unref();
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async () => {
      const expired = await deps.offers.expireDue();
      const withdrawn = await deps.offers.withdrawSilent();
      if (withdrawn > 0) deps.logger.info({ withdrawn }, "withdrew the cancel-on-disconnect offers of silent nodes");
      const jobsExpired = (await deps.expireJobs?.()) ?? 0;
      if (jobsExpired > 0) deps.logger.info({ jobs: jobsExpired }, "expired pending jobs whose signed order ends before they could run and settle");
      const charged = (await deps.chargeRelayJobs?.()) ?? 0;
      if (charged > 0) deps.logger.info({ charged }, "charged ended relay jobs");
      await deleteExpiredAuthNonces(deps.db);
      if (expired > 0) deps.logger.info({ expired }, "expired offers");
      if (deps.retention && Date.now() - retentionRanAt >= deps.retention.everyMs) {
        const swept = await deps.retention.sweep();
        retentionRanAt = Date.now();
        if (swept.blobsDeleted > 0 || Object.values(swept.released).some((n) => n > 0)) deps.logger.info(swept, "retention sweep");
      }
      return { expired };
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: 1 },
  );
  worker.on("failed", (_job, err) => deps.logger.warn({ err }, "maintenance sweep failed; it runs again on schedule"));
  logConnectionErrors(worker, deps.logger, "maintenance worker");
  return {
    async stop() {
      clearInterval(reschedule);
      await worker.close();
    },
  };
}
