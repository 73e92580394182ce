import { Queue, Worker, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { pendingJobsDue } from "../db/repositories/job.repository";
import type { MatchRequests } from "../services/job.service";
import type { AssignmentService } from "../services/assignment.service";
import type { MatchingService, MatchOutcome } from "../services/matching.service";
import { MicroBatcher } from "./micro-batcher";
import { within } from "./within";
import { logConnectionErrors } from "./connection-errors";

export const MATCHING_QUEUE = "matching";

type MatchingTask = { kind: "jobs"; jobIds: string[] } | { kind: "offer"; offerId: string };

const TASK: JobsOptions = { removeOnComplete: true, removeOnFail: 1000, attempts: 5, backoff: { type: "exponential", delay: 200 } };

/** How long a request waits for Redis to take a matching task; past it the task is left to the reconciler. */
const ENQUEUE_WAIT_MS = 2000;

/**
 * The matching queue's producer. Job ids submitted close together travel in one task (placed in one
 * transaction by the worker); placing is idempotent, so a duplicate task costs a lookup and nothing else.
 */
export class MatchQueue implements MatchRequests {
  readonly queue: Queue<MatchingTask>;
  private readonly batcher: MicroBatcher<string, undefined>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly batchSize = 64,
  ) {
    this.queue = new Queue<MatchingTask>(MATCHING_QUEUE, { connection, prefix });
    this.batcher = new MicroBatcher(async (jobIds) => {
      await this.enqueue(jobIds);
      return jobIds.map(() => undefined);
    }, batchSize);
  }

  async jobsSubmitted(jobIds: readonly string[]): Promise<void> {
    await Promise.all(jobIds.map((id) => this.batcher.add(id)));
  }

  /** Queues these job ids now, in tasks of at most `batchSize`. */
  async enqueue(jobIds: readonly string[]): Promise<void> {
    const tasks = [];
    for (let i = 0; i < jobIds.length; i += this.batchSize) tasks.push({ name: "jobs", data: { kind: "jobs" as const, jobIds: jobIds.slice(i, i + this.batchSize) }, opts: TASK });
    await within(this.queue.addBulk(tasks), ENQUEUE_WAIT_MS, "queueing matching");
  }

  async offerChanged(offerId: string): Promise<void> {
    await within(this.queue.add("offer", { kind: "offer", offerId }, TASK), ENQUEUE_WAIT_MS, "queueing resting-bid matching");
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
  /** Most jobs placed in one transaction (jobs of tasks that arrive while a placement runs go together). */
  batchSize: number;
  /** Expires lapsed leases (the job is taken over elsewhere), every `leaseSweepMs`. */
  assignments: AssignmentService;
  leaseSweepMs: number;

}

/**
 * The matching worker: places jobs, serves resting bids when an offer is posted or repriced, and reconciles:
 * Postgres is the truth, so PENDING jobs not yet tried (or resting and not tried for a while) are queued again,
 * and flushing Redis loses no job. The reconciler runs on a timer in every worker process (not as a BullMQ
 * schedule, which a flush would erase); a job queued twice is placed once (placing locks the job row).
 */
export async function startMatching(deps: MatchingWorkerDeps) {
  const { logger } = deps;
  const reconcile = async () => {
    const due = await pendingJobsDue(deps.db, new Date(Date.now() - deps.restingRetryMs), 5000);
    if (due.length > 0) await deps.producer.enqueue(due.map((j) => j.id));
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
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    deps.assignments
      .expireLapsed()
      .then((n) => n > 0 && logger.info({ expired: n }, "expired lapsed assignments; their jobs are matched again"))
      .catch((err) => logger.warn({ err }, "expiring lapsed assignments failed; trying again"))
      .finally(() => (sweeping = false));
  }, deps.leaseSweepMs);
  sweeper.unref();
  const placer = new MicroBatcher<string, MatchOutcome>(
    async (jobIds) => {
      const outcomes = await deps.matching.matchJobs(jobIds);
      return jobIds.map((id) => outcomes.get(id)!);
    },
    deps.batchSize,
    2,
  );
  const worker = new Worker<MatchingTask>(
    MATCHING_QUEUE,
    async (task) => {
      const data = task.data;
      if (data.kind === "jobs") {
        const outcomes = await Promise.all(data.jobIds.map((id) => placer.add(id)));
        return { matched: outcomes.filter((o) => o.kind === "matched").length, resting: outcomes.filter((o) => o.kind === "resting").length };
      }
      return { matched: await deps.matching.matchRestingFor(data.offerId) };
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockMs, stalledInterval: deps.lockMs },
  );
  worker.on("failed", (task, err) => logger.warn({ err, task: task?.data }, "matching task failed; retried with backoff, and the reconciler re-queues"));
  logConnectionErrors(worker, logger, "matching worker");
  return {
    reconcile,
    async stop() {
      clearInterval(timer);
      clearInterval(sweeper);
      // a worker waits for its running tasks; with Redis gone they cannot finish, and close would wait for Redis
      await worker.close(deps.connection.status !== "ready");
    },
  };
}
