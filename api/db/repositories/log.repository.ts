import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";
import { recordEvents } from "./lifecycle.repository";

type Db = Pick<EntityManager, "query">;

export const JOB_LOGS_TOPIC = "job.logs";

export type LogStreamValue = "STDOUT" | "STDERR";

/** One kept line of a job's workload output, numbered per job from 1. */
export interface LogLineRecord {
  seq: bigint;
  assignmentId: string;
  stream: LogStreamValue;
  line: string;
  at: Date;
}

/** The event of lines appended (the outbox carries them to every API instance's followers). */
export interface JobLogsEvent {
  jobId: string;
  lines: { seq: string; assignmentId: string; stream: LogStreamValue; line: string; at: string }[];
}

/** What an assignment has kept so far, locked (after its job, in the one lock order) for an append. */
export async function lockLogCounters(tx: Db, assignmentId: string): Promise<{ lines: number; bytes: bigint } | undefined> {
  const [row] = await tx.query(`SELECT log_lines, log_bytes FROM assignments WHERE id = $1 FOR UPDATE`, [assignmentId]);
  return row ? { lines: row.log_lines, bytes: BigInt(row.log_bytes) } : undefined;
}

/**
 * Appends lines to a job's log under the next sequence numbers, counts them (and the dropped ones) on the assignment,
 * and records the event in the same transaction. The caller holds the job's lock.
 */
export async function appendLogLines(
  tx: Db,
  jobId: string,
  assignmentId: string,
  lines: readonly { stream: LogStreamValue; line: string; at: Date; bytes: number }[],
  dropped: number,
): Promise<LogLineRecord[]> {
  const bytes = lines.reduce((n, l) => n + l.bytes, 0);
  await tx.query(`UPDATE assignments SET log_lines = log_lines + $2, log_bytes = log_bytes + $3, logs_dropped = logs_dropped + $4 WHERE id = $1`, [
    assignmentId,
    lines.length,
    bytes,
    dropped,
  ]);
  if (lines.length === 0) return [];
  const [{ last }] = await updateReturning<{ last: string }>(tx, `UPDATE jobs SET log_seq = log_seq + $2 WHERE id = $1 RETURNING log_seq::text AS last`, [jobId, lines.length]);
  const first = BigInt(last) - BigInt(lines.length) + 1n;
  const records = lines.map((l, i) => ({ seq: first + BigInt(i), assignmentId, stream: l.stream, line: l.line, at: l.at }));
  await tx.query(
    `INSERT INTO job_logs (job_id, seq, assignment_id, stream, line, at)
     SELECT $1, s, $2, st, ln, t FROM unnest($3::bigint[], $4::varchar[], $5::text[], $6::timestamptz[]) AS x(s, st, ln, t)`,
    [jobId, assignmentId, records.map((r) => String(r.seq)), records.map((r) => r.stream), records.map((r) => r.line), records.map((r) => r.at.toISOString())],
  );
  const event: JobLogsEvent = {
    jobId,
    lines: records.map((r) => ({ seq: String(r.seq), assignmentId, stream: r.stream, line: r.line, at: r.at.toISOString() })),
  };
  await recordEvents(tx, JOB_LOGS_TOPIC, [event]);
  return records;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toLine(r: any): LogLineRecord {
  return { seq: BigInt(r.seq), assignmentId: r.assignment_id, stream: r.stream, line: r.line, at: r.at };
}

/** Kept lines after `afterSeq`, oldest first, at most `limit`. */
export async function logLinesAfter(db: Db, jobId: string, afterSeq: bigint, limit: number): Promise<LogLineRecord[]> {
  const rows = await db.query(`SELECT seq, assignment_id, stream, line, at FROM job_logs WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
    jobId,
    String(afterSeq),
    limit,
  ]);
  return rows.map(toLine);
}

/** The last `last` kept lines, oldest first. */
export async function lastLogLines(db: Db, jobId: string, last: number): Promise<LogLineRecord[]> {
  const rows = await db.query(`SELECT * FROM (SELECT seq, assignment_id, stream, line, at FROM job_logs WHERE job_id = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq`, [jobId, last]);
  return rows.map(toLine);
}
