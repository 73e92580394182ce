import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** An account's escrow as the marketplace sees it: available = deposited - held - spent. */
export interface EscrowBalance {
  depositedWei: bigint;
  heldWei: bigint;
  spentWei: bigint;
  availableWei: bigint;
}

/**
 * Credits a deposit (net of withdrawals, as the chain reports it) to an account's escrow. The indexer calls
 * this for Deposited events; tests seed balances through it. `amountWei` may be negative for a withdrawal,
 * which fails (returns false, changes nothing) when it would take more than is available.
 */
export async function creditEscrow(db: Db, accountId: string, amountWei: bigint): Promise<boolean> {
  await db.query(`INSERT INTO escrow_balances (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, [accountId]);
  const rows = await updateReturning(
    db,
    `UPDATE escrow_balances SET deposited_wei = deposited_wei + $2, updated_at = now()
      WHERE account_id = $1 AND deposited_wei + $2 - held_wei - spent_wei >= 0 RETURNING account_id`,
    [accountId, amountWei.toString()],
  );
  return rows.length === 1;
}

/** Holds `amountWei` of the account's available escrow in one conditional update; false when it is not there. */
export async function holdEscrow(tx: Db, accountId: string, amountWei: bigint): Promise<boolean> {
  const rows = await updateReturning(
    tx,
    `UPDATE escrow_balances SET held_wei = held_wei + $2, updated_at = now()
      WHERE account_id = $1 AND deposited_wei - held_wei - spent_wei >= $2 RETURNING account_id`,
    [accountId, amountWei.toString()],
  );
  return rows.length === 1;
}

/** Releases part or all of a hold (a cancelled or failed job, or what a finished job did not spend). */
export async function releaseEscrow(tx: Db, accountId: string, amountWei: bigint): Promise<void> {
  if (amountWei === 0n) return;
  const rows = await updateReturning(
    tx,
    `UPDATE escrow_balances SET held_wei = held_wei - $2, updated_at = now() WHERE account_id = $1 AND held_wei >= $2 RETURNING account_id`,
    [accountId, amountWei.toString()],
  );
  if (rows.length !== 1) throw new Error(`escrow of ${accountId} holds less than ${amountWei} wei to release`);
}

export async function escrowBalance(db: Db, accountId: string): Promise<EscrowBalance> {
  const [row] = await db.query(`SELECT deposited_wei, held_wei, spent_wei FROM escrow_balances WHERE account_id = $1`, [accountId]);
  if (!row) return { depositedWei: 0n, heldWei: 0n, spentWei: 0n, availableWei: 0n };
  const depositedWei = BigInt(row.deposited_wei);
  const heldWei = BigInt(row.held_wei);
  const spentWei = BigInt(row.spent_wei);
  // never below 0: a reorg that removes a deposit already spent leaves a debt, and nothing more to hold
  const free = depositedWei - heldWei - spentWei;
  return { depositedWei, heldWei, spentWei, availableWei: free > 0n ? free : 0n };
}

/** At a job's end: releases its whole hold and records what it spent (its charges, settled on chain later). */
export async function settleHold(tx: Db, accountId: string, holdWei: bigint, spentWei: bigint): Promise<void> {
  const rows = await updateReturning(
    tx,
    `UPDATE escrow_balances SET held_wei = held_wei - $2, spent_wei = spent_wei + $3, updated_at = now()
      WHERE account_id = $1 AND held_wei >= $2 RETURNING account_id`,
    [accountId, holdWei.toString(), spentWei.toString()],
  );
  if (rows.length !== 1) throw new Error(`escrow of ${accountId} holds less than ${holdWei} wei to release`);
}

/**
 * Of these accounts, those whose held escrow is no longer backed by what they have on deposit (deposited - spent <
 * held): a reorg (a dev chain restart is one to genesis) removed a deposit after their jobs were held.
 */
export async function unbackedAccounts(db: Db, accountIds: readonly string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const rows: { account_id: string }[] = await db.query(
    `SELECT account_id FROM escrow_balances WHERE account_id = ANY($1::uuid[]) AND deposited_wei - spent_wei < held_wei`,
    [[...new Set(accountIds)]],
  );
  return new Set(rows.map((r) => r.account_id));
}

/** Marks a PENDING job as held back (not placed) with why, as an attempt: the reconciler tries it again (a resting one after RESTING_RETRY_MS). */
export async function holdBackJob(db: Db, jobId: string, message: string, now: Date): Promise<void> {
  await db.query(`UPDATE jobs SET status_message = $2, match_attempted_at = $3, updated_at = now() WHERE id = $1 AND status = 'PENDING'`, [jobId, message, now]);
}
