import type { EntityManager } from "typeorm";
import { FINAL_JOB_STATES } from "./states";

type Db = Pick<EntityManager, "query">;
const chainOf = (scope: { chainId: bigint; escrow: string }) => [scope.chainId.toString(), scope.escrow.toLowerCase()];

/** A client's spending allowance as Escrow.allowanceOf last said it (amounts in wei, times in unix seconds). */
export interface AllowanceRow {
  amountWei: bigint;
  until: bigint;
  next: { amountWei: bigint; until: bigint; at: bigint } | null;
  readBlock: bigint;
}

/** The escrow's challenge window as last read (undefined: not read yet). */
export async function escrowWindow(db: Db, scope: { chainId: bigint; escrow: string }): Promise<bigint | undefined> {
  const [row] = await db.query(`SELECT challenge_window_seconds FROM escrow_windows WHERE chain_id = $1 AND escrow = $2`, chainOf(scope));
  return row ? BigInt(row.challenge_window_seconds) : undefined;
}

/** Records the chain's time (its latest block's timestamp, unix seconds) as read now, for an escrow whose window is saved. */
export async function saveChainTime(db: Db, scope: { chainId: bigint; escrow: string }, seconds: bigint): Promise<void> {
  await db.query(`UPDATE escrow_windows SET chain_time = $3::bigint WHERE chain_id = $1 AND escrow = $2`, [...chainOf(scope), seconds.toString()]);
}

export async function saveEscrowWindow(db: Db, scope: { chainId: bigint; escrow: string }, seconds: bigint): Promise<void> {
  await db.query(
    `INSERT INTO escrow_windows (chain_id, escrow, challenge_window_seconds) VALUES ($1, $2, $3)
     ON CONFLICT (chain_id, escrow) DO UPDATE SET challenge_window_seconds = excluded.challenge_window_seconds, read_at = now()`,
    [...chainOf(scope), seconds.toString()],
  );
}

/**
 * Clients whose allowance must be read again: those with a SpendingApproved or SpendingDecreaseRequested the indexer
 * mirrored after their last read (or never read), and every client with a read older than a BatchSettled (a batch
 * may have debited its allowance).
 */
export async function allowancesToRead(db: Db, scope: { chainId: bigint; escrow: string }): Promise<string[]> {
  const rows: { address: string }[] = await db.query(
    `WITH events AS (
       SELECT lower(args->>'client') AS address, max(block_number) AS block FROM chain_events
        WHERE chain_id = $1 AND address = $2 AND name IN ('SpendingApproved', 'SpendingDecreaseRequested') GROUP BY 1),
     settled AS (SELECT max(block_number) AS block FROM chain_events WHERE chain_id = $1 AND address = $2 AND name = 'BatchSettled')
     SELECT e.address FROM events e
       LEFT JOIN spending_allowances a ON a.chain_id = $1 AND a.escrow = $2 AND a.address = e.address
      WHERE a.address IS NULL OR a.read_block < e.block OR a.read_block < COALESCE((SELECT block FROM settled), 0)
      ORDER BY 1`,
    chainOf(scope),
  );
  return rows.map((r) => r.address);
}

export async function saveAllowance(db: Db, scope: { chainId: bigint; escrow: string }, address: string, a: AllowanceRow): Promise<void> {
  await db.query(
    `INSERT INTO spending_allowances (chain_id, escrow, address, amount_wei, until, next_amount_wei, next_until, next_at, read_block)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (chain_id, escrow, address) DO UPDATE SET amount_wei = excluded.amount_wei, until = excluded.until, next_amount_wei = excluded.next_amount_wei,
       next_until = excluded.next_until, next_at = excluded.next_at, read_block = excluded.read_block, read_at = now()`,
    [...chainOf(scope), address.toLowerCase(), a.amountWei.toString(), a.until.toString(), a.next?.amountWei.toString() ?? null, a.next?.until.toString() ?? null, a.next?.at.toString() ?? null, a.readBlock.toString()],
  );
}

/**
 * What `clientId`'s spending allowance (`address`'s) still has to give to unsigned work, and until when, taking a
 * pending decrease as already applied (it applies before long): the allowance less the holds of the client's
 * unsigned jobs that have not ended (the job being admitted included) and the charges of its ended unsigned jobs
 * the chain has not yet taken from the allowance (unbatched, in a batch not yet settled, or settled after the
 * allowance was read). Locks the client's allowance for the transaction, so concurrent admissions take turns.
 */
export async function allowanceLeft(tx: Db, scope: { chainId: bigint; escrow: string }, clientId: string, address: string): Promise<{ leftWei: bigint; until: bigint; readAs: AllowanceRow | null }> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('allowance:' || $1))`, [clientId]);
  const [row] = await tx.query(
    `SELECT amount_wei, until, next_amount_wei, next_until, next_at, read_block FROM spending_allowances WHERE chain_id = $1 AND escrow = $2 AND address = $3`,
    [...chainOf(scope), address.toLowerCase()],
  );
  if (!row) return { leftWei: 0n, until: 0n, readAs: null };
  const readAs: AllowanceRow = {
    amountWei: BigInt(row.amount_wei),
    until: BigInt(row.until),
    next: row.next_at === null ? null : { amountWei: BigInt(row.next_amount_wei), until: BigInt(row.next_until), at: BigInt(row.next_at) },
    readBlock: BigInt(row.read_block),
  };
  const amount = readAs.next && readAs.next.amountWei < readAs.amountWei ? readAs.next.amountWei : readAs.amountWei;
  const until = readAs.next && readAs.next.until < readAs.until ? readAs.next.until : readAs.until;
  const [used] = await tx.query(
    `SELECT
       COALESCE((SELECT sum(j.hold_wei) FROM jobs j WHERE j.client_id = $1 AND NOT (j.status = ANY($2::text[]))
                  AND NOT EXISTS (SELECT 1 FROM job_orders o WHERE o.job_id = j.id AND o.burned_at IS NULL)), 0)
     + COALESCE((SELECT sum(c.amount_wei) FROM charges c JOIN jobs j ON j.id = c.job_id LEFT JOIN settlements s ON s.batch_id = c.settlement_batch
                  WHERE c.client_id = $1 AND j.status = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM job_orders o WHERE o.job_id = c.job_id AND o.burned_at IS NULL)
                    AND (s.batch_id IS NULL OR s.status NOT IN ('CONFIRMED', 'FINALIZED') OR s.block_number IS NULL OR s.block_number > $3)), 0) AS wei`,
    [clientId, FINAL_JOB_STATES, readAs.readBlock.toString()],
  );
  const left = amount - BigInt(used.wei);
  return { leftWei: left, until, readAs };
}

/** An unsigned job waiting for a provider, as the allowance sweep weighs it. */
export interface WaitingUnsignedJob {
  jobId: string;
  clientId: string;
  address: string;
  holdWei: bigint;
  maxDurationSeconds: number;
}

/**
 * PENDING jobs without a live signed order and with no replica assigned, running or done (nothing of them is at
 * work), by client, newest first within a client; at most `limit`.
 */
export async function waitingUnsignedJobs(db: Db, limit = 500): Promise<WaitingUnsignedJob[]> {
  const rows = await db.query(
    `SELECT j.id, j.client_id, a.address, j.hold_wei, j.max_duration_seconds FROM jobs j JOIN accounts a ON a.id = j.client_id
      WHERE j.status = 'PENDING'
        AND NOT EXISTS (SELECT 1 FROM job_orders o WHERE o.job_id = j.id AND o.burned_at IS NULL)
        AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.job_id = j.id AND x.status IN ('ASSIGNED', 'RUNNING', 'COMPLETED'))
      ORDER BY j.client_id, j.ordinal DESC LIMIT $1`,
    [limit],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.map((r: any) => ({ jobId: r.id, clientId: r.client_id, address: r.address, holdWei: BigInt(r.hold_wei), maxDurationSeconds: Number(r.max_duration_seconds) }));
}
