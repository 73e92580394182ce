import type { EntityManager } from "typeorm";
import { readQuery } from "../query";
import type { BatchPayload, BatchScope } from "./settlement.repository";

type Db = Pick<EntityManager, "query">;

/** A settlement batch as the API lists it (numbers as Postgres gives them). */
export interface SettlementListRow {
  batch_id: string;
  status: string;
  job_count: number;
  total_amount: string;
  tx_hash: string | null;
  block_number: string | null;
  gas_used: string | null;
  confirmed_at: Date | null;
}

/** Settlement batches newest first, below `before` when given: at most `limit`. */
export function settlementsPage(db: Db, before: bigint | undefined, limit: number): Promise<SettlementListRow[]> {
  return readQuery<SettlementListRow>(
    db,
    `SELECT batch_id, status, job_count, total_amount, tx_hash, block_number, gas_used, confirmed_at FROM settlements
        WHERE $1::bigint IS NULL OR batch_id < $1 ORDER BY batch_id DESC LIMIT $2`,
    [before?.toString() ?? null, limit],
  );
}

/** A job's line in a confirmed batch: the batch, and what of it is the job's charges (`amount`, wei). */
export type JobSettlementRow = SettlementListRow & { job_id: string; amount: string };

/** Each of `jobIds`' lines in a confirmed batch. */
export function jobSettlementRows(db: Db, jobIds: readonly string[]): Promise<JobSettlementRow[]> {
  return db.query(
    `SELECT c.job_id, sum(c.amount_wei) AS amount, s.batch_id, s.status, s.job_count, s.total_amount, s.tx_hash, s.block_number, s.gas_used, s.confirmed_at
         FROM charges c JOIN settlements s ON s.batch_id = c.settlement_batch
        WHERE c.job_id = ANY($1::uuid[]) AND s.status IN ('CONFIRMED', 'FINALIZED')
        GROUP BY c.job_id, s.batch_id`,
    [jobIds],
  );
}

/** A debt a batch line became on chain (DebtRecorded), and whether it was paid (DebtPaid). */
export interface BatchDebtRow {
  batch_id: string;
  debt_id: string;
  client: string;
  amount: string;
  paid: boolean;
}

/** The debts of `batchIds` (decimal strings) as this chain and escrow's indexed events say, by debt id. */
export function debtsOfBatches(db: Db, scope: Pick<BatchScope, "chainId" | "escrow">, batchIds: readonly string[]): Promise<BatchDebtRow[]> {
  return readQuery<BatchDebtRow>(
    db,
    `SELECT r.args->>'batchId' AS batch_id, r.args->>'debtId' AS debt_id, r.args->>'client' AS client, r.args->>'amount' AS amount,
              EXISTS (SELECT 1 FROM chain_events p WHERE p.chain_id = r.chain_id AND p.address = r.address AND p.name = 'DebtPaid' AND p.args->>'debtId' = r.args->>'debtId') AS paid
         FROM chain_events r WHERE r.chain_id = $1 AND r.address = $2 AND r.name = 'DebtRecorded' AND r.args->>'batchId' = ANY($3::text[])
        ORDER BY (r.args->>'debtId')::numeric`,
    [scope.chainId.toString(), scope.escrow.toLowerCase(), batchIds],
  );
}

/** A batch as an operator's re-batch looks at it: its status, payload, transaction, error and how many charges it holds. */
export interface RebatchRow {
  status: string;
  payload: BatchPayload;
  tx_hash: string | null;
  error: string | null;
  charges: number;
}

/** A batch by id (any chain and escrow), with the count of charges it holds. */
export async function batchForRebatch(db: Db, batchId: string): Promise<RebatchRow | undefined> {
  const [row]: RebatchRow[] = await db.query(
    `SELECT status, payload, tx_hash, error, (SELECT count(*)::int FROM charges c WHERE c.settlement_batch = s.batch_id) AS charges FROM settlements s WHERE batch_id = $1`,
    [batchId],
  );
  return row;
}

/** Drops a PENDING batch's retry backoff (payload.notBefore), so the next pass sends it. */
export async function clearBatchBackoff(db: Db, batchId: string): Promise<void> {
  await db.query(`UPDATE settlements SET payload = payload - 'notBefore' WHERE batch_id = $1 AND status = 'PENDING'`, [batchId]);
}

/** A batch's payload, the batch locked in the caller's transaction; undefined when there is no such batch. */
export async function lockBatchPayload(tx: Db, batchId: string): Promise<{ payload: BatchPayload } | undefined> {
  const [row] = await tx.query(`SELECT payload FROM settlements WHERE batch_id = $1 FOR UPDATE`, [batchId]);
  return row;
}

/** FAILED batches of this chain and escrow that still hold charges (refused before they were re-batched), oldest first. */
export function strandedBatches(db: Db, scope: Pick<BatchScope, "chainId" | "escrow">): Promise<{ batch_id: string; error: string | null }[]> {
  return db.query(
    `SELECT s.batch_id, s.error FROM settlements s WHERE s.status = 'FAILED' AND s.chain_id = $1 AND s.escrow = $2
          AND EXISTS (SELECT 1 FROM charges c WHERE c.settlement_batch = s.batch_id) ORDER BY s.batch_id`,
    [scope.chainId.toString(), scope.escrow.toLowerCase()],
  );
}
