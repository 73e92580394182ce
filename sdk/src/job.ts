import type { ExchangeClient } from "./client";
import { ExchangeError } from "./errors";
import {
  JobLogsDocument,
  JobOutputsDocument,
  JobProgressDocument,
  type JobLogsSubscription,
  type JobOutputsQuery,
  type JobProgressSubscription,
  type JobStatus,
} from "./generated/graphql";

/** A progress or status change of a job (`jobProgress`). */
export type JobProgressEvent = JobProgressSubscription["jobProgress"];
/** A line of a job's logs (`jobLogs`): `seq` grows by one per line of the job. */
export type JobLogLine = JobLogsSubscription["jobLogs"];
/** A job's result, outputs (with download URLs for its owner) and last log lines (`JobOutputs`). */
export type JobOutputs = JobOutputsQuery["job"];

/** The statuses a job does not leave. */
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"];

/** Whether a job in `status` has ended. */
export const isFinalStatus = (status: JobStatus) => FINAL_JOB_STATUSES.includes(status);

/** Options of {@link followJob}. */
export interface FollowJobOptions {
  /** Each progress or status change, starting with the job's state when following began. */
  onProgress?(event: JobProgressEvent): void;
  /** Each log line once, in order (replayed lines after a reconnect are not repeated). */
  onLog?(line: JobLogLine): void;
  /** Follow the logs (default true when onLog is given). */
  logs?: boolean;
  /** Log lines after this seq only (default: all kept lines). */
  afterSeq?: string;
  /** How long to wait for the last log lines once the job has ended (default 30 s). */
  logsGraceMs?: number;
  signal?: AbortSignal;
}

/**
 * Follows a job of yours to its end: `jobProgress` (its state now, then each change) and `jobLogs` (kept lines, then
 * live ones; deduplicated by seq across reconnects), until the job has a final status and its log feed has ended;
 * then resolves with its outputs (`JobOutputs`: result, files with download URLs, last log lines). Rejects with the
 * server's error (NOT_FOUND, FORBIDDEN) or ABORTED.
 */
export function followJob(client: ExchangeClient, jobId: string, options: FollowJobOptions = {}): Promise<JobOutputs> {
  const wantLogs = options.logs ?? options.onLog !== undefined;
  let lastSeq = options.afterSeq === undefined ? -1n : BigInt(options.afterSeq);
  const stops: (() => void)[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const ended = new Promise<void>((resolve, reject) => {
    let finalSeen = false;
    let logsDone = !wantLogs;
    let settled = false;
    const finish = (error?: ExchangeError) => {
      if (settled) return;
      if (!error && !(finalSeen && logsDone)) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    if (options.signal?.aborted) return finish(new ExchangeError("ABORTED", "following the job was aborted"));
    options.signal?.addEventListener("abort", () => finish(new ExchangeError("ABORTED", "following the job was aborted")));

    const followProgress = () => {
      stops.push(
        client.subscribe(JobProgressDocument, { jobId }, {
          next: ({ jobProgress }) => {
            options.onProgress?.(jobProgress);
            if (isFinalStatus(jobProgress.status) && !finalSeen) {
              finalSeen = true;
              if (!logsDone) timer = setTimeout(() => ((logsDone = true), finish()), options.logsGraceMs ?? 30_000);
              finish();
            }
          },
          error: (e) => finish(e),
          // the server ends the feed at a final status; an end before one (a restarting server) is followed again
          complete: () => (finalSeen || settled ? undefined : followProgress()),
        }),
      );
    };
    followProgress();

    if (wantLogs) {
      stops.push(
        client.subscribe(JobLogsDocument, { jobId, afterSeq: options.afterSeq ?? null }, {
          next: ({ jobLogs }) => {
            const seq = BigInt(jobLogs.seq);
            if (seq <= lastSeq) return;
            lastSeq = seq;
            options.onLog?.(jobLogs);
          },
          error: (e) => finish(e),
          complete: () => {
            logsDone = true;
            finish();
          },
        }),
      );
    }
  });

  return ended
    .finally(() => {
      if (timer) clearTimeout(timer);
      for (const stop of stops) stop();
    })
    .then(async () => (await client.request(JobOutputsDocument, { id: jobId }, { signal: options.signal })).job);
}

/** A job's result, outputs and last log lines now. */
export async function jobOutputs(client: ExchangeClient, jobId: string, options: { signal?: AbortSignal } = {}): Promise<JobOutputs> {
  return (await client.request(JobOutputsDocument, { id: jobId }, options)).job;
}
