import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/**
 * An account's escrow as the marketplace sees it: available = deposited - withdrawing - held - spent. `withdrawing` is
 * the pending Escrow.requestWithdraw amount: from the moment the chain records the request it backs no new hold, and
 * jobs it leaves unbacked are held back by matching.
 */
export interface EscrowBalance {
  depositedWei: bigint;
  /** A pending withdrawal request, as the chain recorded it (0 when none). */
  withdrawingWei: bigint;
  /** When Escrow.withdraw may take the request; null when none is pending. */
  withdrawUnlockAt: Date | null;
  heldWei: bigint;
  spentWei: bigint;
  /** Owed on chain for settled lines the balance did not cover (already counted in spent). */
  debtWei: bigint;
  availableWei: bigint;
}

/** What backs new holds: deposits less withdrawals, less a pending withdrawal request (SQL over escrow_balances). */
const BACKING = `deposited_wei - withdrawing_wei`;

/**
 * Credits a deposit to an account's escrow without the chain (tests and benchmarks seed balances through it; the
 * indexer recomputes deposits from the chain's events instead). `amountWei` may be negative, which fails (returns
 * false, changes nothing) when it would take more than is available.
 */
export async function creditEscrow(db: Db, accountId: string, amountWei: bigint): Promise<boolean> {
  await db.query(`INSERT INTO escrow_balances (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, [accountId]);
  const rows = await updateReturning(
    db,
    `UPDATE escrow_balances SET deposited_wei = deposited_wei + $2, updated_at = now()
      WHERE account_id = $1 AND ${BACKING} + $2 - held_wei - spent_wei >= 0 RETURNING account_id`,
    [accountId, amountWei.toString()],
  );
  return rows.length === 1;
}

/** Holds `amountWei` of the account's available escrow in one conditional update; false when it is not there. */
export async function holdEscrow(tx: Db, accountId: string, amountWei: bigint): Promise<boolean> {
  const rows = await updateReturning(
    tx,
    `UPDATE escrow_balances SET held_wei = held_wei + $2, updated_at = now()
      WHERE account_id = $1 AND ${BACKING} - held_wei - spent_wei >= $2 RETURNING account_id`,
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

/** An account's escrow (zeros when it never had one). */
export async function escrowBalance(db: Db, accountId: string): Promise<EscrowBalance> {
  const [row] = await db.query(
    `SELECT deposited_wei, withdrawing_wei, withdraw_unlock_at, held_wei, spent_wei, debt_wei FROM escrow_balances WHERE account_id = $1`,
    [accountId],
  );
  if (!row) return { depositedWei: 0n, withdrawingWei: 0n, withdrawUnlockAt: null, heldWei: 0n, spentWei: 0n, debtWei: 0n, availableWei: 0n };
  const depositedWei = BigInt(row.deposited_wei);
  const withdrawingWei = BigInt(row.withdrawing_wei);
  const heldWei = BigInt(row.held_wei);
  const spentWei = BigInt(row.spent_wei);
  // never below 0: a withdrawal request, or a reorg that removes a deposit already spent, leaves nothing more to hold
  const free = depositedWei - withdrawingWei - heldWei - spentWei;
  return { depositedWei, withdrawingWei, withdrawUnlockAt: row.withdraw_unlock_at, heldWei, spentWei, debtWei: BigInt(row.debt_wei), availableWei: free > 0n ? free : 0n };
}

/** At a job's end: releases its whole hold and records what it spent (its charges, settled on chain later). */
export async function releaseHold(tx: Db, accountId: string, holdWei: bigint, spentWei: bigint): Promise<void> {
  const rows = await updateReturning(
    tx,
    `UPDATE escrow_balances SET held_wei = held_wei - $2, spent_wei = spent_wei + $3, updated_at = now()
      WHERE account_id = $1 AND held_wei >= $2 RETURNING account_id`,
    [accountId, holdWei.toString(), spentWei.toString()],
  );
  if (rows.length !== 1) throw new Error(`escrow of ${accountId} holds less than ${holdWei} wei to release`);
}

/**
 * Of these accounts, those whose held escrow is no longer backed by what they have on deposit (deposited -
 * withdrawing - spent < held): the client asked to withdraw money its jobs hold (Escrow.requestWithdraw), or a reorg
 * (a dev chain restart is one to genesis) removed a deposit after its jobs were held.
 */
export async function unbackedAccounts(db: Db, accountIds: readonly string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const rows: { account_id: string }[] = await db.query(
    `SELECT account_id FROM escrow_balances WHERE account_id = ANY($1::uuid[]) AND ${BACKING} - spent_wei < held_wei`,
    [[...new Set(accountIds)]],
  );
  return new Set(rows.map((r) => r.account_id));
}

/** Marks a PENDING job as held back (not placed) with why, as an attempt: the reconciler tries it again (a resting one after RESTING_RETRY_MS). */
export async function holdBackJob(db: Db, jobId: string, message: string, now: Date): Promise<void> {
  await db.query(`UPDATE jobs SET status_message = $2, match_attempted_at = $3, updated_at = now() WHERE id = $1 AND status = 'PENDING'`, [jobId, message, now]);
}
