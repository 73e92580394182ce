import type { EntityManager } from "typeorm";
import { feeWei } from "../../../pricing";
import { buildSettlement, type SettledJob } from "../../../contracts/batch";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** A charge as a batch takes it: who pays whom how much for which job. */
export interface ChargeRow {
  id: string;
  job_id: string;
  amount_wei: string;
  created_at: Date;
  client: string;
  provider: string;
  result_hash: string | null;
}

/** The arguments of Escrow.settle as a batch stores them (amounts as decimal strings), with its retry lineage. */
export interface BatchPayload {
  merkleRoot: string;
  jobCount: number;
  clients: string[];
  debits: string[];
  providers: string[];
  credits: string[];
  /**
   * Escrow.settle's lines (encodeLine words as decimal strings): what each client pays each provider, read by the
   * contract only for a client its balance cannot cover. Absent from batches recorded before lines existed.
   */
  lines?: string[];
  /** Escrow.settle's allowance bitmap and order nonce marks (absent in batches built before them: none). */
  allowanceBits?: string[];
  nonceMarks?: string[];
  /** Set on a batch made from the charges of a batch the chain refused. */
  retry?: { of: string; attempt: number; reason: string };
  /** ISO time before which the batch is not sent (a refused single charge waits, with backoff). */
  notBefore?: string;
}

export interface BatchScope {
  chainId: bigint;
  escrow: string;
  feeBps: number;
}

const CHARGE_COLUMNS = `c.id, c.job_id, c.amount_wei, c.created_at, ca.address AS client, pa.address AS provider, a.result_hash
   FROM charges c
   JOIN accounts ca ON ca.id = c.client_id
   JOIN accounts pa ON pa.id = c.provider_id
   JOIN assignments a ON a.id = c.assignment_id`;

/** Unbatched charges (not those in an open debt, which wait for it), oldest first, locked (others skip them): at most `limit`. */
export function unbatchedCharges(tx: Db, limit: number): Promise<ChargeRow[]> {
  return tx.query(
    `SELECT ${CHARGE_COLUMNS} WHERE c.settlement_batch IS NULL AND c.debt_batch IS NULL ORDER BY c.created_at, c.id LIMIT $1 FOR UPDATE OF c SKIP LOCKED`,
    [limit],
  );
}

/** The charges of a batch, oldest first, locked. */
export function chargesOfBatch(tx: Db, batchId: string): Promise<ChargeRow[]> {
  return tx.query(`SELECT ${CHARGE_COLUMNS} WHERE c.settlement_batch = $1 ORDER BY c.created_at, c.id FOR UPDATE OF c`, [batchId]);
}

/** bytes32 of a job id (a UUID): its 16 bytes, left-aligned. */
export function jobIdBytes32(uuid: string): string {
  return `0x${uuid.replace(/-/g, "").padEnd(64, "0")}`;
}

/**
 * Records a new PENDING batch of `rows` (its exact settle() arguments, the fee of each charge) and moves the charges
 * into it, in the caller's transaction. Returns the new batch id.
 */
export async function insertBatch(tx: Db, scope: BatchScope, rows: readonly ChargeRow[], extra: Pick<BatchPayload, "retry" | "notBefore"> = {}): Promise<bigint> {
  const jobs: SettledJob[] = rows.map((r) => {
    const debit = BigInt(r.amount_wei);
    return {
      jobId: jobIdBytes32(r.job_id),
      client: r.client,
      provider: r.provider,
      debitWei: debit,
      creditWei: debit - feeWei(debit, scope.feeBps),
      resultHash: `0x${(r.result_hash ?? "").padStart(64, "0")}`,
    };
  });
  const [{ batch_id }] = await tx.query(`SELECT nextval(pg_get_serial_sequence('settlements', 'batch_id')) AS batch_id`);
  const batch = buildSettlement(BigInt(batch_id), jobs);
  const payload: BatchPayload = {
    merkleRoot: batch.merkleRoot,
    jobCount: batch.jobCount,
    clients: batch.clients,
    debits: batch.debits.map(String),
    providers: batch.providers,
    credits: batch.credits.map(String),
    lines: batch.lines.map(String),
    allowanceBits: batch.allowanceBits.map(String),
    nonceMarks: batch.nonceMarks.map(String),
    ...extra,
  };
  const total = batch.debits.reduce((a, b) => a + b, 0n);
  await tx.query(
    `INSERT INTO settlements (batch_id, chain_id, escrow, job_count, total_amount, fee_amount, merkle_root, payload)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [batch_id, scope.chainId.toString(), scope.escrow.toLowerCase(), batch.jobCount, total.toString(), batch.feeWei.toString(), batch.merkleRoot, JSON.stringify(payload)],
  );
  await tx.query(
    `UPDATE charges c SET settlement_batch = $1, fee_wei = f.fee FROM unnest($2::uuid[], $3::numeric[]) AS f(id, fee) WHERE c.id = f.id`,
    [batch_id, rows.map((r) => r.id), jobs.map((j) => (j.debitWei - j.creditWei).toString())],
  );
  return BigInt(batch_id);
}

/** A batch row as the sender reads it. */
export interface BatchRow {
  batch_id: string;
  status: string;
  payload: BatchPayload;
  tx_hash: string | null;
  gas_used: string | null;
  submitted_at: Date | null;
}

/** Batches of this chain and escrow in `statuses`, oldest first. */
export function batchesIn(db: Db, scope: Pick<BatchScope, "chainId" | "escrow">, statuses: readonly string[]): Promise<BatchRow[]> {
  return db.query(
    `SELECT batch_id, status, payload, tx_hash, gas_used, submitted_at FROM settlements WHERE chain_id = $1 AND escrow = $2 AND status = ANY($3) ORDER BY batch_id`,
    [scope.chainId.toString(), scope.escrow.toLowerCase(), statuses],
  );
}

/** Moves a batch from one status to another if it is still in `from` (and, with `txHash`, still names that transaction). */
export async function moveBatch(db: Db, batchId: string, from: readonly string[], set: { status?: string; txHash?: string | null; blockNumber?: bigint | null; gasUsed?: bigint | null; error?: string | null; submittedAt?: Date }, txHash?: string | null): Promise<boolean> {
  const sets: string[] = [];
  const params: unknown[] = [batchId, from];
  const add = (column: string, value: unknown) => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  if (set.status !== undefined) add("status", set.status);
  if (set.txHash !== undefined) add("tx_hash", set.txHash);
  if (set.blockNumber !== undefined) add("block_number", set.blockNumber?.toString() ?? null);
  if (set.gasUsed !== undefined) add("gas_used", set.gasUsed?.toString() ?? null);
  if (set.error !== undefined) add("error", set.error?.slice(0, 500) ?? null);
  if (set.submittedAt !== undefined) add("submitted_at", set.submittedAt);
  if (set.status === "PENDING") sets.push("confirmed_at = NULL");
  let where = `batch_id = $1 AND status = ANY($2)`;
  if (txHash !== undefined) {
    params.push(txHash);
    where += ` AND tx_hash IS NOT DISTINCT FROM $${params.length}`;
  }
  const rows = await updateReturning(db, `UPDATE settlements SET ${sets.join(", ")} WHERE ${where} RETURNING batch_id`, params);
  return rows.length === 1;
}
