import type { DataSource } from "typeorm";
import { lockJob } from "../db/repositories/job.repository";
import { jobIdOfAssignment } from "../db/repositories/lifecycle.repository";
import {
  appendLogLines,
  JOB_LOGS_TOPIC,
  lastLogLines,
  lockLogCounters,
  logLinesAfter,
  type JobLogsEvent,
  type LogLineRecord,
  type LogStreamValue,
} from "../db/repositories/log.repository";
import { inTransaction } from "../db/transaction";
import { assignmentOwnerStatus } from "../db/repositories/assignment.repository";
import { jobEnv, jobStatus } from "../db/repositories/job-read.repository";
import { JOB_PROGRESS_TOPIC } from "../db/repositories/lifecycle.repository";
import { FINAL_JOB_STATES, type JobStatusValue } from "../db/repositories/states";
import { badInput, conflict, forbidden, notFound } from "./errors";
import { NO_EVENTS, type EventStreams } from "./events";
import { maskSecrets, cutToBytes } from "./log-lines";
import { assertId, requirePrincipal, type Principal } from "./principal";

export interface LogSettings {
  /** Lines kept per assignment. */
  maxLinesPerAssignment: number;
  /** Bytes (of kept lines) per assignment. */
  maxBytesPerAssignment: number;
  /** A longer line is cut to this many UTF-8 bytes. */
  maxLineBytes: number;
  /** Lines per AppendLogs call. */
  maxBatch: number;
}

export interface AppendResult {
  accepted: number;
  dropped: number;
  /** The assignment's bound is reached: what comes next is dropped, so stop sending. */
  full: boolean;
}

const STREAMS = new Set<LogStreamValue>(["STDOUT", "STDERR"]);
const REPLAY_PAGE = 1000;
/** Lines one read of a job's last log lines returns: by default, and at most. */
export const DEFAULT_LOG_LINES_READ = 100;
export const MAX_LOG_LINES_READ = 1000;

async function hasEnded(db: DataSource, jobId: string): Promise<boolean> {
  const status = await jobStatus(db, jobId);
  return !status || FINAL_JOB_STATES.includes(status);
}

/**
 * A job's workload output: lines the agent sends, numbered per job, with the values of the job's secret env masked,
 * bounded per assignment; its owner reads the last ones or follows them live from a sequence number, without gaps
 * or repeats.
 */
export class LogService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: LogSettings,
    private readonly events: EventStreams = NO_EVENTS,
  ) {}

  async append(principal: Principal | undefined, assignmentId: string, lines: readonly { stream: string; line: string; at?: Date | null }[], now = new Date()): Promise<AppendResult> {
    const who = requirePrincipal(principal);
    assertId("assignment", assignmentId);
    if (lines.length > this.settings.maxBatch) throw badInput(`send at most ${this.settings.maxBatch} lines at a time`);
    for (const l of lines) if (!STREAMS.has(l.stream as LogStreamValue)) throw badInput("stream must be STDOUT or STDERR");
    const jobId = await jobIdOfAssignment(this.db, assignmentId);
    if (!jobId) throw notFound("assignment", assignmentId);
    return inTransaction(this.db, async (tx) => {
      await lockJob(tx, jobId);
      const a = (await assignmentOwnerStatus(tx, assignmentId))!;
      if (a.providerId !== who.accountId) throw forbidden("this assignment belongs to another provider's node");
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; logs come from running work`);
      const counters = (await lockLogCounters(tx, assignmentId))!;
      const secrets = ((await jobEnv(tx, jobId)) ?? []).filter((e) => e.secret).map((e) => e.value);
      const kept: { stream: LogStreamValue; line: string; at: Date; bytes: number }[] = [];
      let count = counters.lines;
      let bytes = counters.bytes;
      for (const l of lines) {
        const line = cutToBytes(maskSecrets(l.line, secrets), this.settings.maxLineBytes);
        const size = Buffer.byteLength(line, "utf8");
        if (count + 1 > this.settings.maxLinesPerAssignment || bytes + BigInt(size) > BigInt(this.settings.maxBytesPerAssignment)) break;
        kept.push({ stream: l.stream as LogStreamValue, line, at: l.at && l.at <= now ? l.at : now, bytes: size });
        count++;
        bytes += BigInt(size);
      }
      const dropped = lines.length - kept.length;
      await appendLogLines(tx, jobId, assignmentId, kept, dropped);
      const full = dropped > 0 || count >= this.settings.maxLinesPerAssignment || bytes >= BigInt(this.settings.maxBytesPerAssignment);
      return { accepted: kept.length, dropped, full };
    });
  }

  /** The last `last` kept lines of a job (1..{@link MAX_LOG_LINES_READ}), oldest first; the caller checked the job is the principal's. */
  async last(jobId: string, last: number): Promise<LogLineRecord[]> {
    if (!Number.isInteger(last) || last < 1 || last > MAX_LOG_LINES_READ) throw badInput(`last must be from 1 to ${MAX_LOG_LINES_READ}`);
    return lastLogLines(this.db, jobId, last);
  }

  /** Kept lines after `afterSeq`, oldest first, at most `limit`; the caller checked the job is the principal's. */
  async after(jobId: string, afterSeq: bigint, limit: number): Promise<LogLineRecord[]> {
    return logLinesAfter(this.db, jobId, afterSeq, limit);
  }

  /**
   * Kept lines after `afterSeq`, then live ones, in order, each once, until the job has ended and every line it kept
   * was sent. The live feeds (lines, and the job's status) are joined first, the kept lines replayed, and live lines
   * at or below the last sequence sent skipped; a gap (lines published during the replay) is read from the store.
   * The caller checked the job is theirs.
   */
  follow(jobId: string, afterSeq: bigint): AsyncIterableIterator<LogLineRecord> {
    const lines = this.events.listen<JobLogsEvent>(JOB_LOGS_TOPIC, jobId);
    const progress = this.events.listen<{ status: string }>(JOB_PROGRESS_TOPIC, jobId);
    const db = this.db;
    async function* stream(): AsyncGenerator<LogLineRecord> {
      let seen = afterSeq;
      async function* rest(): AsyncGenerator<LogLineRecord> {
        for (;;) {
          const page = await logLinesAfter(db, jobId, seen, REPLAY_PAGE);
          for (const l of page) {
            seen = l.seq;
            yield l;
          }
          if (page.length < REPLAY_PAGE) return;
        }
      }
      try {
        yield* rest();
        if (await hasEnded(db, jobId)) return;
        let nextLines = lines.next();
        let nextStatus = progress.next();
        for (;;) {
          const got = await Promise.race([nextLines.then((r) => ({ kind: "lines" as const, r })), nextStatus.then((r) => ({ kind: "status" as const, r }))]);
          if (got.kind === "status") {
            if (got.r.done || FINAL_JOB_STATES.includes(got.r.value.status as JobStatusValue)) {
              // the agent sends its last lines before it reports the end: whatever is kept now is all there is
              yield* rest();
              return;
            }
            nextStatus = progress.next();
            continue;
          }
          if (got.r.done) return;
          const event = got.r.value;
          nextLines = lines.next();
          const first = event.lines.length > 0 ? BigInt(event.lines[0].seq) : 0n;
          if (first > seen + 1n) yield* rest();
          for (const l of event.lines) {
            const seq = BigInt(l.seq);
            if (seq <= seen) continue;
            seen = seq;
            yield { seq, assignmentId: l.assignmentId, stream: l.stream, line: l.line, at: new Date(l.at) };
          }
        }
      } finally {
        await Promise.all([lines.return?.(), progress.return?.()]);
      }
    }
    const gen = stream();
    // a client that leaves while the stream waits for the next event: the feeds are closed at once (which ends that
    // wait), rather than when the job's next line or status would have come
    return {
      next: () => gen.next(),
      async return() {
        await Promise.all([lines.return?.(), progress.return?.()]);
        return gen.return(undefined);
      },
      async throw(err: unknown) {
        await Promise.all([lines.return?.(), progress.return?.()]);
        return gen.throw(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
