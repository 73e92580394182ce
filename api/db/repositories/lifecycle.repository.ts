import type { EntityManager } from "typeorm";
import { costWei } from "../../../pricing";
import { OUTBOX_NOTIFY_CHANNEL, type LevelChange } from "./book.repository";
import { toAssignmentRecord, type AssignmentRecord, type AssignmentStatusValue, type JobStatusValue } from "./job.repository";
import { updateReturning } from "../query";
import { assertAssignmentMove, assignmentStatesInto, LIVE_ASSIGNMENT_STATES } from "./states";

type Db = Pick<EntityManager, "query">;

/** Outbox topic of a job's progress and status changes; payload {@link JobProgressEvent}. */
export const JOB_PROGRESS_TOPIC = "job.progress";
/** Outbox topic of new assignments, for the node's agent; payload {@link AssignmentOfferedEvent}. */
export const ASSIGNMENT_OFFERED_TOPIC = "assignment.offered";

export interface JobProgressEvent {
  jobId: string;
  status: JobStatusValue;
  progress: number;
  message: string | null;
  assignmentId: string | null;
  at: string;
}

export interface AssignmentOfferedEvent {
  assignmentId: string;
  nodeId: string;
  jobId: string;
}

/** Writes outbox events in the caller's transaction and wakes the relay. */
export async function recordEvents(tx: Db, topic: string, payloads: readonly object[]): Promise<void> {
  if (payloads.length === 0) return;
  await tx.query(`INSERT INTO outbox (topic, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p`, [topic, payloads.map((p) => JSON.stringify(p))]);
  await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_NOTIFY_CHANNEL]);
}

/** An assignment as the lifecycle reads it (the whole row). */
export type LiveAssignment = AssignmentRecord;


/** One assignment, locked FOR UPDATE in the caller's transaction. */
export async function lockAssignment(tx: Db, id: string): Promise<LiveAssignment | undefined> {
  const [row] = await tx.query(`SELECT * FROM assignments WHERE id = $1 FOR UPDATE`, [id]);
  return row ? toAssignmentRecord(row) : undefined;
}

export async function assignmentsOfJob(tx: Db, jobId: string): Promise<LiveAssignment[]> {
  const rows = await tx.query(`SELECT * FROM assignments WHERE job_id = $1 ORDER BY replica, attempt`, [jobId]);
  return rows.map(toAssignmentRecord);
}

/** Assignments of these jobs (for matching: live replicas, nodes that failed them). */
export async function assignmentsOfJobIds(db: Db, jobIds: readonly string[]): Promise<LiveAssignment[]> {
  const rows = await db.query(`SELECT * FROM assignments WHERE job_id = ANY($1::uuid[])`, [jobIds]);
  return rows.map(toAssignmentRecord);
}

/** The last whole checkpoint step of each (job, replica). */
export async function lastCheckpointSteps(db: Db, jobIds: readonly string[]): Promise<Map<string, number>> {
  const rows: { job_id: string; replica: number; step: number }[] = await db.query(
    `SELECT job_id, replica, max(step) AS step FROM checkpoints WHERE job_id = ANY($1::uuid[]) AND stored_at IS NOT NULL AND purged_at IS NULL GROUP BY job_id, replica`,
    [jobIds],
  );
  return new Map(rows.map((r) => [`${r.job_id}:${r.replica}`, r.step]));
}

/**
 * Ends a live assignment with `status` (from the live states the transition table allows: COMPLETED only from
 * RUNNING), in one conditional UPDATE: stamps ended_at and gives its GPUs back to the offer (never above its size). Undefined, with nothing written, when the assignment
 * was no longer live (a concurrent change ended it). Otherwise `{ change }`: the book change when the offer is
 * still on the book (the offer is then added to `freed`: its new room may serve resting bids).
 */
export async function endAssignment(
  tx: Db,
  a: LiveAssignment,
  status: AssignmentStatusValue,
  fields: { resultHash?: string; resultUri?: string | null; reason?: string },
  now: Date,
  freed?: string[],
): Promise<{ change?: LevelChange } | undefined> {
  const from = assignmentStatesInto(status).filter((f) => LIVE_ASSIGNMENT_STATES.includes(f));
  assertAssignmentMove(from, status);
  const ended = await updateReturning(
    tx,
    `UPDATE assignments SET status = $2::varchar, ended_at = $3, result_hash = coalesce($4, result_hash), result_uri = coalesce($5, result_uri), fail_reason = coalesce($6, fail_reason),
            progress = CASE WHEN $2::varchar = 'COMPLETED' THEN 1 ELSE progress END
      WHERE id = $1 AND status = ANY($7::varchar[]) RETURNING id`,
    [a.id, status, now, fields.resultHash ?? null, fields.resultUri ?? null, fields.reason?.slice(0, 500) ?? null, from],
  );
  if (ended.length === 0) return undefined;
  const [offer] = await updateReturning<{ market: string; price_wei: string; status: string }>(
    tx,
    `UPDATE offers SET available_gpus = least(gpu_count, available_gpus + $2), updated_at = now() WHERE id = $1 RETURNING market, price_wei, status`,
    [a.offerId, a.gpus],
  );
  if (!offer || offer.status !== "OPEN") return {};
  freed?.push(a.offerId);
  return { change: { market: offer.market, side: "ASK", priceWei: BigInt(offer.price_wei) } };
}

/** A COMPLETED result that lost the vote becomes REJECTED (conditional: false when it was not COMPLETED). */
export async function rejectAssignment(tx: Db, id: string): Promise<boolean> {
  assertAssignmentMove(["COMPLETED"], "REJECTED");
  return (await updateReturning(tx, `UPDATE assignments SET status = 'REJECTED' WHERE id = $1 AND status = 'COMPLETED' RETURNING id`, [id])).length === 1;
}

/** ASSIGNED -> RUNNING with its start time and lease (conditional: false when it was not ASSIGNED). */
export async function startAssignment(tx: Db, id: string, now: Date, leaseExpiresAt: Date): Promise<boolean> {
  assertAssignmentMove(["ASSIGNED"], "RUNNING");
  const rows = await updateReturning(tx, `UPDATE assignments SET status = 'RUNNING', started_at = $2, lease_expires_at = $3 WHERE id = $1 AND status = 'ASSIGNED' RETURNING id`, [id, now, leaseExpiresAt]);
  return rows.length === 1;
}

/** A running assignment's progress and renewed lease (conditional: false when it is not RUNNING). */
export async function recordAssignmentProgress(tx: Db, id: string, progress: number, message: string | null, leaseExpiresAt: Date): Promise<boolean> {
  const rows = await updateReturning(
    tx,
    `UPDATE assignments SET progress = $2, progress_message = $3, lease_expires_at = $4 WHERE id = $1 AND status = 'RUNNING' RETURNING id`,
    [id, progress, message, leaseExpiresAt],
  );
  return rows.length === 1;
}

/** The job id of an assignment, read without a lock (to lock the job first: the lock order is job, then assignments). */
export async function jobIdOfAssignment(db: Db, id: string): Promise<string | undefined> {
  const [row] = await db.query(`SELECT job_id FROM assignments WHERE id = $1`, [id]);
  return row?.job_id;
}

/** Records a job's progress event (outbox) with its current status. */
export async function recordJobEvent(tx: Db, e: Omit<JobProgressEvent, "status" | "at"> & { status?: JobStatusValue }, now: Date): Promise<void> {
  const status = e.status ?? ((await tx.query(`SELECT status FROM jobs WHERE id = $1`, [e.jobId]))[0].status as JobStatusValue);
  await recordEvents(tx, JOB_PROGRESS_TOPIC, [{ jobId: e.jobId, status, progress: e.progress, message: e.message, assignmentId: e.assignmentId, at: now.toISOString() }]);
}

/** Adds to a provider's reputation counters. */
export async function countOutcome(tx: Db, providerId: string, outcome: "completed_jobs" | "failed_jobs" | "expired_jobs" | "rejected_jobs"): Promise<void> {
  await tx.query(`UPDATE accounts SET ${outcome} = ${outcome} + 1 WHERE id = $1`, [providerId]);
}

/**
 * Live assignments to take over: those whose lease lapsed before `now`, and, with `silentSince`, those made before
 * it, not renewed since (lease expiry before `renewedBefore`: the lease length after `silentSince`), on a node
 * whose last heartbeat is older (the agent stopped beating).
 */
export async function lapsedAssignments(db: Db, now: Date, limit: number, silence?: { since: Date; renewedBefore: Date }): Promise<{ id: string; jobId: string }[]> {
  const rows: { id: string; job_id: string }[] = await db.query(
    `SELECT a.id, a.job_id FROM assignments a
      WHERE a.status IN ('ASSIGNED', 'RUNNING') AND a.lease_expires_at < $1
     UNION
     SELECT a.id, a.job_id FROM assignments a JOIN nodes n ON n.id = a.node_id
      WHERE $3::timestamptz IS NOT NULL AND a.status IN ('ASSIGNED', 'RUNNING') AND a.created_at < $3 AND a.lease_expires_at < $4
        AND (n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < $3)
     LIMIT $2`,
    [now, limit, silence?.since ?? null, silence?.renewedBefore ?? null],
  );
  return rows.map((r) => ({ id: r.id, jobId: r.job_id }));
}

/** Renews the leases of a node's RUNNING assignments (a heartbeat). */
export async function renewNodeLeases(db: Db, nodeId: string, until: Date): Promise<void> {
  await db.query(`UPDATE assignments SET lease_expires_at = greatest(lease_expires_at, $2) WHERE node_id = $1 AND status = 'RUNNING'`, [nodeId, until]);
}

export interface CheckpointRecord {
  id: string;
  jobId: string;
  assignmentId: string;
  replica: number;
  step: number;
  sha256: string;
  sizeBytes: bigint;
  storedAt: Date | null;
  /** When its bytes were released (the job ended, or newer checkpoints replaced it). */
  purgedAt: Date | null;
  createdAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toCheckpoint(r: any): CheckpointRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    assignmentId: r.assignment_id,
    replica: r.replica,
    step: r.step,
    sha256: r.sha256,
    sizeBytes: BigInt(r.size_bytes),
    storedAt: r.stored_at,
    purgedAt: r.purged_at,
    createdAt: r.created_at,
  };
}

const CHECKPOINT_COLUMNS = `id, job_id, assignment_id, replica, step, sha256, size_bytes, stored_at, purged_at, created_at`;

/** Reserves a checkpoint (bytes to come); an existing reservation of the same step with the same hash and size is returned again. */
export async function reserveCheckpoint(tx: Db, a: LiveAssignment, step: number, sha256: string, sizeBytes: bigint): Promise<CheckpointRecord | undefined> {
  const rows = await tx.query(
    `INSERT INTO checkpoints (job_id, assignment_id, replica, step, sha256, size_bytes) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (assignment_id, step) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes
       WHERE checkpoints.stored_at IS NULL
     RETURNING ${CHECKPOINT_COLUMNS}`,
    [a.jobId, a.id, a.replica, step, sha256, sizeBytes.toString()],
  );
  return rows.length ? toCheckpoint(rows[0]) : undefined;
}

export async function checkpointById(db: Db, id: string): Promise<CheckpointRecord | undefined> {
  const [row] = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = $1`, [id]);
  return row ? toCheckpoint(row) : undefined;
}

/**
 * Marks a reserved checkpoint stored once its bytes are in the blob store (checked there), only while it still names
 * those bytes (a reservation of the same step again may have replaced them meanwhile). False otherwise, or when it
 * already was stored.
 */
export async function storeCheckpoint(db: Db, id: string, sha256: string, sizeBytes: bigint): Promise<boolean> {
  const rows = await updateReturning(
    db,
    `UPDATE checkpoints SET stored_at = now() WHERE id = $1 AND sha256 = $2 AND size_bytes = $3 AND stored_at IS NULL AND purged_at IS NULL RETURNING id`,
    [id, sha256, String(sizeBytes)],
  );
  return rows.length === 1;
}

/** The newest whole checkpoint of a job's replica. */
export async function latestCheckpoint(db: Db, jobId: string, replica: number): Promise<CheckpointRecord | undefined> {
  const [row] = await db.query(
    `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE job_id = $1 AND replica = $2 AND stored_at IS NOT NULL AND purged_at IS NULL ORDER BY step DESC, stored_at DESC LIMIT 1`,
    [jobId, replica],
  );
  return row ? toCheckpoint(row) : undefined;
}

/** Whole checkpoints of these jobs, by step. */
export async function checkpointsOfJobs(db: Db, jobIds: readonly string[]): Promise<CheckpointRecord[]> {
  const rows = await db.query(`SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE job_id = ANY($1::uuid[]) AND stored_at IS NOT NULL ORDER BY step, stored_at`, [jobIds]);
  return rows.map(toCheckpoint);
}

/**
 * Charges a replica's work: trade price x GPUs x seconds billed / 3600, rounded down. Seconds billed: those run
 * (started to `endedAt`, whole seconds), at least the offer's minDurationSeconds at the trade, at most the job's
 * maximum duration (so never more than the replica's share of the hold). Work that never started costs nothing.
 * Records the charge (once per assignment) for settlement and returns it.
 */
export async function chargeAssignment(tx: Db, job: { id: string; clientId: string; maxDurationSeconds: number }, a: LiveAssignment, endedAt: Date): Promise<bigint> {
  const [row] = await tx.query(`SELECT started_at, min_billed_seconds FROM assignments WHERE id = $1`, [a.id]);
  if (!row?.started_at) return 0n;
  const run = Math.max(0, Math.floor((endedAt.getTime() - row.started_at.getTime()) / 1000));
  const seconds = Math.min(job.maxDurationSeconds, Math.max(run, row.min_billed_seconds ?? 0));
  const amount = costWei(a.priceWei, a.gpus, seconds);
  await tx.query(`UPDATE assignments SET cost_wei = $2 WHERE id = $1`, [a.id, amount.toString()]);
  await tx.query(
    `INSERT INTO charges (job_id, assignment_id, client_id, provider_id, amount_wei, run_seconds) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (assignment_id) DO NOTHING`,
    [job.id, a.id, job.clientId, a.providerId, amount.toString(), seconds],
  );
  return amount;
}
