import type { EntityManager } from "typeorm";
import { assertJobMove } from "./states";
import { readQuery, updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

import type { AssignmentStatusValue, JobStatusValue } from "./states";
export type { AssignmentStatusValue, JobStatusValue } from "./states";
export type StrategyValue = "BALANCED" | "CHEAPEST" | "FASTEST" | "MOST_RELIABLE";
export type TimeInForceValue = "GTC" | "IOC";

export interface JobWeights {
  price: number;
  latency: number;
  vram: number;
  reputation: number;
}

export interface JobExclusion {
  reason: string;
  message: string;
  offers: number;
}

/** A job as stored. Money in wei. */
export interface JobRecord {
  id: string;
  ordinal: bigint;
  clientId: string;
  kind: string;
  status: JobStatusValue;
  resting: boolean;
  image: string | null;
  command: string[] | null;
  env: { name: string; value: string }[] | null;
  inputUri: string | null;
  sourceId: string | null;
  gpuCount: number;
  minVramGb: number;
  gpuModels: string[] | null;
  region: string | null;
  maxLatencyMs: number | null;
  minReputation: number | null;
  maxPriceWei: bigint;
  maxDurationSeconds: number;
  redundancy: number;
  strategy: StrategyValue;
  weights: JobWeights | null;
  checkpointIntervalSeconds: number | null;
  idempotencyKey: string | null;
  /** The client's own id for this order, unique among its live jobs. */
  clientOrderId: string | null;
  /** GTC rests until matched; IOC is cancelled when its first placement finds no offers. */
  timeInForce: TimeInForceValue;
  requestHash: string;
  holdWei: bigint;
  excluded: JobExclusion[] | null;
  progress: number;
  statusMessage: string | null;
  costWei: bigint | null;
  resultHash: string | null;
  resultUri: string | null;
  agreedBy: number | null;
  matchAttemptedAt: Date | null;
  matchedAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A job to insert; `id` chosen beforehand (a signed order names it), else generated. */
export type NewJob = { id?: string | null } & Omit<JobRecord, "id" | "ordinal" | "status" | "resting" | "excluded" | "progress" | "statusMessage" | "costWei" | "resultHash" | "resultUri" | "agreedBy" | "matchAttemptedAt" | "matchedAt" | "endedAt" | "createdAt" | "updatedAt">;

export interface AssignmentRecord {
  id: string;
  jobId: string;
  offerId: string;
  nodeId: string;
  providerId: string;
  replica: number;
  attempt: number;
  status: AssignmentStatusValue;
  gpus: number;
  priceWei: bigint;
  resumedFromStep: number | null;
  resultHash: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
  leaseExpiresAt: Date | null;
  progress: number;
  failReason: string | null;
  costWei: bigint | null;
  createdAt: Date;
}

const JOB_COLUMNS = `id, ordinal, client_id, kind, status, resting, image, command, env, input_uri, source_id, gpu_count, min_vram_gb,
  gpu_models, region, max_latency_ms, min_reputation, max_price_wei, max_duration_seconds, redundancy, strategy, weights,
  checkpoint_interval_seconds, idempotency_key, request_hash, hold_wei, excluded, progress, status_message, cost_wei,
  result_hash, result_uri, agreed_by, match_attempted_at, matched_at, ended_at, created_at, updated_at, client_order_id, time_in_force`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toJobRecord(r: any): JobRecord {
  return {
    id: r.id,
    ordinal: BigInt(r.ordinal),
    clientId: r.client_id,
    kind: r.kind,
    status: r.status,
    resting: r.resting,
    image: r.image,
    command: r.command,
    env: r.env,
    inputUri: r.input_uri,
    sourceId: r.source_id,
    gpuCount: r.gpu_count,
    minVramGb: r.min_vram_gb,
    gpuModels: r.gpu_models,
    region: r.region,
    maxLatencyMs: r.max_latency_ms,
    minReputation: r.min_reputation,
    maxPriceWei: BigInt(r.max_price_wei),
    maxDurationSeconds: r.max_duration_seconds,
    redundancy: r.redundancy,
    strategy: r.strategy,
    weights: r.weights,
    checkpointIntervalSeconds: r.checkpoint_interval_seconds,
    idempotencyKey: r.idempotency_key,
    clientOrderId: r.client_order_id ?? null,
    timeInForce: r.time_in_force ?? "GTC",
    requestHash: r.request_hash,
    holdWei: BigInt(r.hold_wei),
    excluded: r.excluded,
    progress: r.progress,
    statusMessage: r.status_message,
    costWei: r.cost_wei === null ? null : BigInt(r.cost_wei),
    resultHash: r.result_hash,
    resultUri: r.result_uri,
    agreedBy: r.agreed_by,
    matchAttemptedAt: r.match_attempted_at,
    matchedAt: r.matched_at,
    endedAt: r.ended_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toAssignmentRecord(r: any): AssignmentRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    offerId: r.offer_id,
    nodeId: r.node_id,
    providerId: r.provider_id,
    replica: r.replica,
    attempt: r.attempt,
    status: r.status,
    gpus: r.gpus,
    priceWei: BigInt(r.price_wei),
    resumedFromStep: r.resumed_from_step,
    resultHash: r.result_hash,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    leaseExpiresAt: r.lease_expires_at,
    progress: r.progress,
    failReason: r.fail_reason,
    costWei: r.cost_wei === null ? null : BigInt(r.cost_wei),
    createdAt: r.created_at,
  };
}

function jobParams(job: NewJob): unknown[] {
  return [
    job.clientId, job.kind, job.image, job.command === null ? null : JSON.stringify(job.command), job.env === null ? null : JSON.stringify(job.env),
    job.inputUri, job.sourceId, job.gpuCount, job.minVramGb, job.gpuModels, job.region, job.maxLatencyMs, job.minReputation,
    job.maxPriceWei.toString(), job.maxDurationSeconds, job.redundancy, job.strategy, job.weights === null ? null : JSON.stringify(job.weights),
    job.checkpointIntervalSeconds, job.idempotencyKey, job.requestHash, job.holdWei.toString(), job.clientOrderId, job.timeInForce, job.id ?? null,
  ];
}

const JOB_INSERT_COLUMNS = `client_id, kind, image, command, env, input_uri, source_id, gpu_count, min_vram_gb, gpu_models, region,
  max_latency_ms, min_reputation, max_price_wei, max_duration_seconds, redundancy, strategy, weights,
  checkpoint_interval_seconds, idempotency_key, request_hash, hold_wei, client_order_id, time_in_force, id`;
const JOB_VALUES = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, COALESCE($25::uuid, gen_random_uuid())`;

/** Inserts a job unless the client already has one with this idempotency key; undefined then. */
export async function insertJob(tx: Db, job: NewJob): Promise<JobRecord | undefined> {
  const rows = await tx.query(
    `INSERT INTO jobs (${JOB_INSERT_COLUMNS}) VALUES (${JOB_VALUES})
     ON CONFLICT (client_id, idempotency_key) DO NOTHING
     RETURNING ${JOB_COLUMNS}`,
    jobParams(job),
  );
  return rows.length ? toJobRecord(rows[0]) : undefined;
}

/**
 * For a job without an idempotency key: holds its `holdWei` of the client's available escrow and inserts it, in
 * one statement (atomic on its own); undefined, with nothing changed, when the escrow cannot cover the hold or,
 * with `maxPending`, the client already has that many PENDING jobs (counted in the statement's snapshot).
 */
export async function insertJobWithHold(db: Db, job: NewJob, maxPending: number | null = null): Promise<JobRecord | undefined> {
  const rows = await db.query(
    `WITH hold AS (
       UPDATE escrow_balances SET held_wei = held_wei + $22, updated_at = now()
        WHERE account_id = $1 AND deposited_wei - withdrawing_wei - held_wei - spent_wei >= $22
          AND ($26::int IS NULL OR (SELECT count(*) FROM jobs WHERE client_id = $1 AND status = 'PENDING') < $26::int)
        RETURNING account_id
     )
     INSERT INTO jobs (${JOB_INSERT_COLUMNS}) SELECT ${JOB_VALUES} FROM hold
     RETURNING ${JOB_COLUMNS}`,
    [...jobParams(job), maxPending],
  );
  return rows.length ? toJobRecord(rows[0]) : undefined;
}

export async function jobByIdempotencyKey(db: Db, clientId: string, key: string): Promise<JobRecord | undefined> {
  const [row] = await db.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE client_id = $1 AND idempotency_key = $2`, [clientId, key]);
  return row ? toJobRecord(row) : undefined;
}

/** One job; with `lock`, FOR UPDATE in the caller's transaction. */
export async function jobById(db: Db, id: string, lock = false): Promise<JobRecord | undefined> {
  const [row] = await db.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1${lock ? " FOR UPDATE" : ""}`, [id]);
  return row ? toJobRecord(row) : undefined;
}

export async function jobsByIds(db: Db, ids: readonly string[]): Promise<JobRecord[]> {
  const rows = await db.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
  return rows.map(toJobRecord);
}

/** A client's jobs, newest first, after a cursor ordinal; one more than `first` tells whether a next page exists. */
export async function jobsOfClient(db: Db, clientId: string, status: JobStatusValue | undefined, first: number, beforeOrdinal: bigint | undefined): Promise<JobRecord[]> {
  const rows = await readQuery<Record<string, unknown>>(
    db,
    `SELECT ${JOB_COLUMNS} FROM jobs
      WHERE client_id = $1 AND ($2::varchar IS NULL OR status = $2) AND ($3::bigint IS NULL OR ordinal < $3)
      ORDER BY ordinal DESC LIMIT $4`,
    [clientId, status ?? null, beforeOrdinal?.toString() ?? null, first + 1],
  );
  return rows.map(toJobRecord);
}

export async function assignmentsByIds(db: Db, ids: readonly string[]): Promise<AssignmentRecord[]> {
  const rows = await db.query(`SELECT * FROM assignments WHERE id = ANY($1::uuid[]) ORDER BY created_at, replica`, [ids]);
  return rows.map(toAssignmentRecord);
}

export async function assignmentsOfJobs(db: Db, jobIds: readonly string[]): Promise<AssignmentRecord[]> {
  const rows = await db.query(`SELECT * FROM assignments WHERE job_id = ANY($1::uuid[]) ORDER BY created_at, replica`, [jobIds]);
  return rows.map(toAssignmentRecord);
}

/** PENDING jobs (oldest first) the reconciler should make sure are queued: not yet tried, or resting and last tried before `restingBefore`. */
export async function pendingJobsDue(db: Db, restingBefore: Date, limit: number): Promise<{ id: string }[]> {
  return db.query(
    `SELECT id FROM jobs WHERE status = 'PENDING' AND (NOT resting OR match_attempted_at < $1) ORDER BY ordinal LIMIT $2`,
    [restingBefore, limit],
  );
}

/** Columns a status change may set along with the status. */
export interface JobMoveFields {
  resting?: boolean;
  progress?: number;
  statusMessage?: string | null;
  resultHash?: string;
  resultUri?: string | null;
  agreedBy?: number;
  costWei?: bigint;
  endedAt?: Date;
}

const JOB_MOVE_COLUMNS: Record<keyof JobMoveFields, string> = {
  resting: "resting",
  progress: "progress",
  statusMessage: "status_message",
  resultHash: "result_hash",
  resultUri: "result_uri",
  agreedBy: "agreed_by",
  costWei: "cost_wei",
  endedAt: "ended_at",
};

/**
 * The one writer of a job's status: moves job `id` to `to` only while it is in one of `from` (each change checked
 * against JOB_TRANSITIONS), with `fields`, in one conditional UPDATE. False when the job was in none of them (a
 * concurrent change won), and nothing is written.
 */
export async function moveJob(tx: Db, id: string, from: readonly JobStatusValue[], to: JobStatusValue, fields: JobMoveFields = {}): Promise<boolean> {
  assertJobMove(from, to);
  const sets = ["status = $3", "updated_at = now()"];
  const params: unknown[] = [id, [...from], to];
  for (const [key, value] of Object.entries(fields) as [keyof JobMoveFields, unknown][]) {
    if (value === undefined) continue;
    params.push(typeof value === "bigint" ? value.toString() : value);
    sets.push(`${JOB_MOVE_COLUMNS[key]} = $${params.length}`);
  }
  const rows = await updateReturning(tx, `UPDATE jobs SET ${sets.join(", ")} WHERE id = $1 AND status = ANY($2::varchar[]) RETURNING id`, params);
  return rows.length === 1;
}

/** Locks a job row (FOR UPDATE) in the caller's transaction: every change to a job's assignments takes it first. */
export async function lockJob(tx: Db, id: string): Promise<JobRecord | undefined> {
  return jobById(tx, id, true);
}

/**
 * Resting PENDING jobs an offer could serve on price, GPUs per replica, memory and model, highest cap first then
 * oldest, at most `limit` (what matching offers a new or repriced offer).
 */
export async function restingJobsFor(db: Db, offer: { priceWei: bigint; availableGpus: number; vramGb: number; gpuModel: string }, limit = 500): Promise<JobRecord[]> {
  const rows = await db.query(
    `SELECT ${JOB_COLUMNS} FROM jobs
      WHERE status = 'PENDING' AND resting AND max_price_wei >= $1 AND gpu_count <= $2 AND min_vram_gb <= $3
        AND (gpu_models IS NULL OR $4 = ANY(gpu_models))
      ORDER BY max_price_wei DESC, ordinal LIMIT $5`,
    [offer.priceWei.toString(), offer.availableGpus, offer.vramGb, offer.gpuModel, limit],
  );
  return rows.map(toJobRecord);
}
