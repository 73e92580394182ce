import { Queue, Worker, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { pendingJobsDue } from "../db/repositories/job.repository";
import type { MatchRequests } from "../services/job.service";
import type { MatchingService } from "../services/matching.service";

export const MATCHING_QUEUE = "matching";

type MatchingTask = { kind: "job"; jobId: string } | { kind: "offer"; offerId: string };

/** Job tasks leave no record when done or failed, so the reconciler can always queue the id again. */
const JOB_TASK: JobsOptions = { removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: "exponential", delay: 200 } };
const OFFER_TASK: JobsOptions = { removeOnComplete: true, removeOnFail: 1000, attempts: 5, backoff: { type: "exponential", delay: 200 } };

/** The matching queue's producer: one queued task per job id (BullMQ ignores a duplicate id while it waits). */
export class MatchQueue implements MatchRequests {
  readonly queue: Queue<MatchingTask>;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue<MatchingTask>(MATCHING_QUEUE, { connection, prefix });
  }

  async jobsSubmitted(jobIds: readonly string[]): Promise<void> {
    await this.queue.addBulk(jobIds.map((jobId) => ({ name: "job", data: { kind: "job", jobId }, opts: { ...JOB_TASK, jobId: `job-${jobId}` } })));
  }

  async offerChanged(offerId: string): Promise<void> {
    await this.queue.add("offer", { kind: "offer", offerId }, OFFER_TASK);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

export interface MatchingWorkerDeps {
  connection: Redis;
  prefix: string;
  db: DataSource;
  matching: MatchingService;
  producer: MatchQueue;
  logger: Logger;
  concurrency: number;
  /** How often the reconciler looks for PENDING jobs whose matching is not queued. */
  reconcileMs: number;
  /** Resting jobs are retried by the reconciler when their last attempt is older than this. */
  restingRetryMs: number;
  /** A task of a dead worker is taken back after this long. */
  lockMs: number;
}

/**
 * The matching worker: places jobs, serves resting bids when an offer is posted or repriced, and reconciles:
 * Postgres is the truth, so PENDING jobs not yet tried (or resting and not tried for a while) are queued again,
 * and flushing Redis loses no job. The reconciler runs on a timer in every worker process (not as a BullMQ
 * schedule, which a flush would erase); duplicates are harmless because queued ids are unique.
 */
export async function startMatching(deps: MatchingWorkerDeps) {
  const { logger } = deps;
  const reconcile = async () => {
    const due = await pendingJobsDue(deps.db, new Date(Date.now() - deps.restingRetryMs), 5000);
    if (due.length > 0) await deps.producer.jobsSubmitted(due.map((j) => j.id));
    return due.length;
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    reconcile()
      .catch((err) => logger.warn({ err }, "reconciling PENDING jobs failed; trying again"))
      .finally(() => (running = false));
  }, deps.reconcileMs);
  timer.unref();
  const worker = new Worker<MatchingTask>(
    MATCHING_QUEUE,
    async (task) => {
      const data = task.data;
      if (data.kind === "job") return deps.matching.matchJob(data.jobId);
      return { matched: await deps.matching.matchRestingFor(data.offerId) };
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockMs, stalledInterval: deps.lockMs },
  );
  worker.on("failed", (task, err) => logger.warn({ err, task: task?.data }, "matching task failed; retried with backoff, and the reconciler re-queues"));
  worker.on("error", (err) => logger.warn({ err }, "matching worker error"));
  return {
    reconcile,
    async stop() {
      clearInterval(timer);
      await worker.close();
    },
  };
}
