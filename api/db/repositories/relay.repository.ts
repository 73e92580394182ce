import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";
import { FINAL_JOB_STATES } from "./states";

type Db = Pick<EntityManager, "query">;

/** A relay job's row: its USD terms, fixed at submit (bigint columns as the driver gives them, decimal strings). */
export interface RelayJobRow {
  job_id: string;
  account_id: string;
  idempotency_key: string;
  request_hash: string;
  usd_per_ogpu_micros: string;
  usd_per_gpu_hour_micros: string;
  max_usd_micros: string;
  charged_usd_micros: string | null;
  created_at: Date;
}

/** A fed OGPU/USD rate (micro-dollars per OGPU as a decimal string). */
export interface UsdRateRow {
  usd_per_ogpu_micros: string;
  source: string;
  created_at: Date;
}

/** A charged relay job, as the usage report lists it. */
export interface RelayChargeRow {
  job_id: string;
  charged_usd_micros: string;
  created_at: Date;
}

/** An account's USD balance parts in micro-dollars (0 each for an account never credited). */
export interface UsdBalance {
  credited: bigint;
  held: bigint;
  spent: bigint;
}

/** The latest fed OGPU/USD rate younger than `maxAgeSeconds`, if any. */
export async function latestUsdRate(db: Db, maxAgeSeconds: number): Promise<UsdRateRow | undefined> {
  const [fed] = await db.query(
    `SELECT usd_per_ogpu_micros, source, created_at FROM usd_rates WHERE created_at > now() - make_interval(secs => $1) ORDER BY id DESC LIMIT 1`,
    [maxAgeSeconds],
  );
  return fed;
}

/** Records a fed OGPU/USD rate and where it came from. */
export async function insertUsdRate(db: Db, micros: bigint, source: string): Promise<void> {
  await db.query(`INSERT INTO usd_rates (usd_per_ogpu_micros, source) VALUES ($1, $2)`, [micros.toString(), source]);
}

/** The relay job an account submitted under an idempotency key, if any. */
export async function relayJobByKey(db: Db, accountId: string, key: string): Promise<RelayJobRow | undefined> {
  const [existing] = await db.query(`SELECT * FROM relay_jobs WHERE account_id = $1 AND idempotency_key = $2`, [accountId, key]);
  return existing;
}

/** Takes the transaction's advisory lock on an account's idempotency key (concurrent submits of one key queue on it). */
export async function lockRelayKey(tx: Db, accountId: string, key: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${accountId}:${key}`]);
}

/** Holds `micros` of an account's available USD; false (nothing held) when its balance cannot cover them. */
export async function holdUsd(tx: Db, accountId: string, micros: bigint): Promise<boolean> {
  const held = await updateReturning(
    tx,
    `UPDATE usd_accounts SET held_micros = held_micros + $2, updated_at = now() WHERE account_id = $1 AND credited_micros - held_micros - spent_micros >= $2 RETURNING account_id`,
    [accountId, micros.toString()],
  );
  return held.length > 0;
}

/** An account's available USD (credited less held and spent) in micro-dollars; 0 without a USD account. */
export async function availableUsd(tx: Db, accountId: string): Promise<bigint> {
  const [row] = await tx.query(`SELECT credited_micros - held_micros - spent_micros AS available FROM usd_accounts WHERE account_id = $1`, [accountId]);
  return BigInt(row?.available ?? 0);
}

/** Stores a relay job's USD terms, in the transaction that submits the job. */
export async function insertRelayJob(
  tx: Db,
  r: { jobId: string; accountId: string; key: string; requestHash: string; usdPerOgpuMicros: bigint; usdPerGpuHourMicros: bigint; maxUsdMicros: bigint },
): Promise<void> {
  await tx.query(
    `INSERT INTO relay_jobs (job_id, account_id, idempotency_key, request_hash, usd_per_ogpu_micros, usd_per_gpu_hour_micros, max_usd_micros) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [r.jobId, r.accountId, r.key, r.requestHash, r.usdPerOgpuMicros.toString(), r.usdPerGpuHourMicros.toString(), r.maxUsdMicros.toString()],
  );
}

/** A relay job's row, if the job was ordered through the relay. */
export async function relayJobById(db: Db, jobId: string): Promise<RelayJobRow | undefined> {
  const [row] = await db.query(`SELECT * FROM relay_jobs WHERE job_id = $1`, [jobId]);
  return row;
}

/** The account that ordered a relay job, if the job was ordered through the relay. */
export async function relayJobAccount(db: Db, jobId: string): Promise<string | undefined> {
  const [row] = await db.query(`SELECT account_id FROM relay_jobs WHERE job_id = $1`, [jobId]);
  return row?.account_id;
}

/** An account's USD credited, held and spent. */
export async function usdBalance(db: Db, accountId: string): Promise<UsdBalance> {
  const [acct] = await db.query(`SELECT credited_micros, held_micros, spent_micros FROM usd_accounts WHERE account_id = $1`, [accountId]);
  return { credited: BigInt(acct?.credited_micros ?? 0), held: BigInt(acct?.held_micros ?? 0), spent: BigInt(acct?.spent_micros ?? 0) };
}

/** An account's 100 latest charged relay jobs, newest first. */
export async function relayCharges(db: Db, accountId: string): Promise<RelayChargeRow[]> {
  return db.query(
    `SELECT job_id, charged_usd_micros, created_at FROM relay_jobs WHERE account_id = $1 AND charged_usd_micros IS NOT NULL ORDER BY created_at DESC LIMIT 100`,
    [accountId],
  );
}

/** Records an admin's USD credit to an account (the ledger line; creditUsd adds it to the balance). */
export async function insertUsdCredit(tx: Db, accountId: string, micros: bigint, note: string | null): Promise<void> {
  await tx.query(`INSERT INTO usd_credits (account_id, amount_micros, note) VALUES ($1, $2, $3)`, [accountId, micros.toString(), note]);
}

/** Adds `micros` to an account's credited USD (its USD account made on first credit); its available balance after. */
export async function creditUsd(tx: Db, accountId: string, micros: bigint): Promise<bigint> {
  const [row] = await tx.query(
    `INSERT INTO usd_accounts (account_id, credited_micros) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET credited_micros = usd_accounts.credited_micros + excluded.credited_micros, updated_at = now()
         RETURNING credited_micros - held_micros - spent_micros AS balance`,
    [accountId, micros.toString()],
  );
  return BigInt(row.balance);
}

/** Ids of relay jobs not yet charged whose jobs are in a final state, at most `limit`. */
export async function endedUnchargedRelayJobs(db: Db, limit: number): Promise<string[]> {
  const due: { job_id: string }[] = await db.query(
    `SELECT r.job_id FROM relay_jobs r JOIN jobs j ON j.id = r.job_id WHERE r.charged_usd_micros IS NULL AND j.status = ANY($1) LIMIT $2`,
    [FINAL_JOB_STATES, limit],
  );
  return due.map((d) => d.job_id);
}

/** A relay job's row, locked for the transaction, while it is not charged yet (undefined once charged). */
export async function lockUnchargedRelayJob(tx: Db, jobId: string): Promise<RelayJobRow | undefined> {
  const [r] = await tx.query(`SELECT * FROM relay_jobs WHERE job_id = $1 AND charged_usd_micros IS NULL FOR UPDATE`, [jobId]);
  return r;
}

/** Records what a relay job was charged in USD. */
export async function setRelayCharge(tx: Db, jobId: string, chargeMicros: bigint): Promise<void> {
  await tx.query(`UPDATE relay_jobs SET charged_usd_micros = $2 WHERE job_id = $1`, [jobId, chargeMicros.toString()]);
}

/** Releases a relay job's hold (`heldMicros`, as stored) from an account's USD and spends its charge. */
export async function releaseUsdHold(tx: Db, accountId: string, heldMicros: string, chargeMicros: bigint): Promise<void> {
  await tx.query(
    `UPDATE usd_accounts SET held_micros = held_micros - $2, spent_micros = spent_micros + $3, updated_at = now() WHERE account_id = $1`,
    [accountId, heldMicros, chargeMicros.toString()],
  );
}
