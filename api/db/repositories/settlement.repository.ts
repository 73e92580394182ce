import { getAddress } from "ethers";
import type { EntityManager } from "typeorm";
import { feeWei } from "../../../pricing";
import { buildSettlement, type ReputationLeaf, type SettledJob, type SettlementBatch } from "../../../contracts/batch";
import { updateReturning } from "../query";
import { FINAL_JOB_STATES } from "./states";

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
  /** The fee recorded when the charge was batched (0 before). */
  fee_wei: string;
  /** The job's signed order (its nonce, digest and scope), null for a job without one. */
  order_nonce: string | null;
  order_digest: string | null;
  order_chain_id: string | null;
  order_escrow: string | null;
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
  /** Each provider's reputation counters when the batch was made: leaves of its Merkle tree (absent in older batches). */
  reputation?: ReputationLeaf[];
  /** Set on a batch made from the charges of a batch the chain refused. */
  retry?: { of: string; attempt: number; reason: string };
  /** ISO time before which the batch is not sent (a refused single charge waits, with backoff). */
  notBefore?: string;
}

export interface BatchScope {
  chainId: bigint;
  escrow: string;
  feeBps: number;
  /**
   * The escrow has a challenge window: a charge without a signed order is debited from the client's on-chain
   * allowance (Escrow.approveSpending), the only other cover a windowed escrow accepts. Without a window, nothing is.
   */
  allowanceForUnsigned?: boolean;
}

const CHARGE_COLUMNS = `c.id, c.job_id, c.amount_wei, c.created_at, ca.address AS client, pa.address AS provider, a.result_hash, c.fee_wei,
   jo.nonce AS order_nonce, jo.digest AS order_digest, jo.chain_id AS order_chain_id, jo.escrow AS order_escrow
   FROM charges c
   JOIN accounts ca ON ca.id = c.client_id
   JOIN accounts pa ON pa.id = c.provider_id
   JOIN assignments a ON a.id = c.assignment_id
   LEFT JOIN job_orders jo ON jo.job_id = c.job_id AND jo.burned_at IS NULL`;

/**
 * Unbatched charges (not those in an open debt, which wait for it), oldest first, locked (others skip them): about
 * `limit`. A job with a signed order is taken whole once it has ended (its order's nonce is marked by one batch, so
 * all of its charges go into that batch): its charges wait while it runs; a job the limit cut brings the rest of its
 * charges (the batch grows past the limit); one whose charges another pass holds is left out.
 */
export async function unbatchedCharges(tx: Db, limit: number): Promise<ChargeRow[]> {
  const rows: ChargeRow[] = await tx.query(
    `SELECT ${CHARGE_COLUMNS} WHERE c.settlement_batch IS NULL AND c.debt_batch IS NULL
       AND (jo.job_id IS NULL OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = c.job_id AND j.status = ANY($2)))
     ORDER BY c.created_at, c.id LIMIT $1 FOR UPDATE OF c SKIP LOCKED`,
    [limit, FINAL_JOB_STATES],
  );
  const ordered = [...new Set(rows.filter((r) => r.order_nonce !== null).map((r) => r.job_id))];
  if (ordered.length === 0) return rows;
  const taken = new Set(rows.map((r) => r.id));
  const rest: ChargeRow[] = await tx.query(
    `SELECT ${CHARGE_COLUMNS} WHERE c.job_id = ANY($1::uuid[]) AND c.settlement_batch IS NULL AND c.debt_batch IS NULL ORDER BY c.created_at, c.id FOR UPDATE OF c SKIP LOCKED`,
    [ordered],
  );
  const all = [...rows, ...rest.filter((r) => !taken.has(r.id))];
  const counts: { job_id: string; n: string }[] = await tx.query(
    `SELECT job_id, count(*) AS n FROM charges WHERE job_id = ANY($1::uuid[]) AND settlement_batch IS NULL AND debt_batch IS NULL GROUP BY job_id`,
    [ordered],
  );
  const have = new Map<string, number>();
  for (const r of all) have.set(r.job_id, (have.get(r.job_id) ?? 0) + 1);
  const partial = new Set(counts.filter((c) => Number(c.n) !== have.get(c.job_id)).map((c) => c.job_id));
  return all.filter((r) => r.order_nonce === null || !partial.has(r.job_id));
}

/** The charges of a batch, oldest first, locked (in the caller's transaction) unless `lock` is false. */
export function chargesOfBatch(tx: Db, batchId: string, lock = true): Promise<ChargeRow[]> {
  return tx.query(`SELECT ${CHARGE_COLUMNS} WHERE c.settlement_batch = $1 ORDER BY c.created_at, c.id${lock ? " FOR UPDATE OF c" : ""}`, [batchId]);
}

/** bytes32 of a job id (a UUID): its 16 bytes, left-aligned. */
export function jobIdBytes32(uuid: string): string {
  return `0x${uuid.replace(/-/g, "").padEnd(64, "0")}`;
}

/**
 * The charges as a batch's jobs (leaves): amounts, fee (at `scope.feeBps`, or with `storedFee` the fee recorded when
 * they were batched, for a batch rebuilt later), result, and how each is covered.
 */
export function settledJobsOf(scope: BatchScope, rows: readonly ChargeRow[], storedFee = false): SettledJob[] {
  return rows.map((r) => {
    const debit = BigInt(r.amount_wei);
    return {
      jobId: jobIdBytes32(r.job_id),
      client: r.client,
      provider: r.provider,
      debitWei: debit,
      creditWei: debit - (storedFee ? BigInt(r.fee_wei) : feeWei(debit, scope.feeBps)),
      resultHash: `0x${(r.result_hash ?? "").padStart(64, "0")}`,
      ...coverOf(scope, r),
    };
  });
}

/** How a charge is covered on chain: its job's signed order (for this chain and escrow), else the allowance when the escrow asks for one. */
function coverOf(scope: BatchScope, r: ChargeRow): Pick<SettledJob, "order" | "allowance"> {
  const signedHere = r.order_nonce !== null && r.order_digest !== null && r.order_chain_id === scope.chainId.toString() && r.order_escrow === scope.escrow.toLowerCase();
  if (signedHere) return { order: { nonce: BigInt(r.order_nonce!), hash: r.order_digest! } };
  return scope.allowanceForUnsigned === true ? { allowance: true } : {};
}

/**
 * Records a new PENDING batch of `rows` (its exact settle() arguments, the fee of each charge) and moves the charges
 * into it, in the caller's transaction. Returns the new batch id.
 */
export async function insertBatch(tx: Db, scope: BatchScope, rows: readonly ChargeRow[], extra: Pick<BatchPayload, "retry" | "notBefore"> = {}): Promise<bigint> {
  const jobs = settledJobsOf(scope, rows);
  const [{ batch_id }] = await tx.query(`SELECT nextval(pg_get_serial_sequence('settlements', 'batch_id')) AS batch_id`);
  const batch = buildSettlement(BigInt(batch_id), jobs, await reputationOf(tx, [...new Set(rows.map((r) => r.provider))]));
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
    reputation: batch.reputation,
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

/** The reputation counters of `addresses` (providers) as they stand, sorted by address. */
async function reputationOf(tx: Db, addresses: readonly string[]): Promise<ReputationLeaf[]> {
  const rows: { address: string; completed_jobs: number; failed_jobs: number; expired_jobs: number; rejected_jobs: number }[] = await tx.query(
    `SELECT address, completed_jobs, failed_jobs, expired_jobs, rejected_jobs FROM accounts WHERE address = ANY($1) ORDER BY address`,
    [addresses.map((a) => a.toLowerCase())],
  );
  return rows.map((r) => ({ provider: getAddress(r.address), completed: r.completed_jobs, failed: r.failed_jobs, expired: r.expired_jobs, rejected: r.rejected_jobs }));
}

/**
 * A stored batch rebuilt from its charges (with the fees recorded then) and its reputation leaves: the tree it was sent
 * with, for proofs. Null when the rebuilt root is not the one sent (a charge changed since), so no wrong proof is given.
 */
export async function rebuiltBatch(db: Db, scope: BatchScope, row: Pick<BatchRow, "batch_id" | "payload">): Promise<SettlementBatch | null> {
  // a client's charges whose line became a debt moved to debt_batch; they are still leaves of the batch
  const charges: ChargeRow[] = await db.query(`SELECT ${CHARGE_COLUMNS} WHERE c.settlement_batch = $1 OR c.debt_batch = $1 ORDER BY c.created_at, c.id`, [row.batch_id]);
  const rebuilt = buildSettlement(BigInt(row.batch_id), settledJobsOf(scope, charges, true), row.payload.reputation ?? []);
  return rebuilt.merkleRoot === row.payload.merkleRoot ? rebuilt : null;
}

/** The newest confirmed batch of this chain and escrow whose reputation leaves name `provider`. */
export async function lastBatchWithReputation(db: Db, scope: Pick<BatchScope, "chainId" | "escrow">, provider: string): Promise<(BatchRow & { block_number: string | null }) | undefined> {
  const [row] = await db.query(
    `SELECT batch_id, status, payload, tx_hash, gas_used, submitted_at, block_number FROM settlements
      WHERE chain_id = $1 AND escrow = $2 AND status IN ('CONFIRMED', 'FINALIZED') AND payload->'reputation' @> $3::jsonb
      ORDER BY batch_id DESC LIMIT 1`,
    [scope.chainId.toString(), scope.escrow.toLowerCase(), JSON.stringify([{ provider: getAddress(provider) }])],
  );
  return row;
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

/** A challenge of a batch's client entry, opened on chain (ChallengeOpened) and not yet resolved, as the indexer mirrored it. */
export interface OpenChallengeRow {
  batchId: string;
  clientIndex: number;
  client: string;
  deadline: bigint;
}

/** Challenges of `escrow`'s batches that no ChallengeResolved has closed yet, oldest first. */
export async function openChallenges(db: Db, escrow: string): Promise<OpenChallengeRow[]> {
  const rows: { args: { batchId: string; clientIndex: string; client: string; deadline: string } }[] = await db.query(
    `SELECT o.args FROM chain_events o WHERE o.address = $1 AND o.name = 'ChallengeOpened'
        AND NOT EXISTS (SELECT 1 FROM chain_events r WHERE r.chain_id = o.chain_id AND r.address = o.address AND r.name = 'ChallengeResolved'
                          AND r.args->>'batchId' = o.args->>'batchId' AND r.args->>'clientIndex' = o.args->>'clientIndex')
      ORDER BY o.block_number, o.log_index`,
    [escrow.toLowerCase()],
  );
  return rows.map(({ args }) => ({ batchId: args.batchId, clientIndex: Number(args.clientIndex), client: args.client, deadline: BigInt(args.deadline) }));
}

/** Which of `batchIds` hold a charge crediting `provider` (an address). */
export async function batchesCrediting(db: Db, batchIds: readonly string[], provider: string): Promise<Set<string>> {
  if (batchIds.length === 0) return new Set();
  const rows: { batch_id: string }[] = await db.query(
    `SELECT DISTINCT c.settlement_batch AS batch_id FROM charges c JOIN accounts pa ON pa.id = c.provider_id WHERE c.settlement_batch = ANY($1::bigint[]) AND pa.address = $2`,
    [batchIds, provider.toLowerCase()],
  );
  return new Set(rows.map((r) => String(r.batch_id)));
}

/** A batch's commitment as its BatchCommitted event gave it (the settler, fee recipient and time the contract hashed). */
export async function batchCommitment(db: Db, escrow: string, batchId: string): Promise<{ settler: string; feeRecipient: string; settledAt: bigint } | undefined> {
  const [row] = await db.query(`SELECT args FROM chain_events WHERE address = $1 AND name = 'BatchCommitted' AND args->>'batchId' = $2 ORDER BY block_number DESC LIMIT 1`, [escrow.toLowerCase(), batchId]);
  return row ? { settler: row.args.settler, feeRecipient: row.args.feeRecipient, settledAt: BigInt(row.args.settledAt) } : undefined;
}

/** One batch of this chain and escrow. */
export async function batchOf(db: Db, scope: Pick<BatchScope, "chainId" | "escrow">, batchId: string): Promise<BatchRow | undefined> {
  const [row] = await db.query(
    `SELECT batch_id, status, payload, tx_hash, gas_used, submitted_at FROM settlements WHERE chain_id = $1 AND escrow = $2 AND batch_id = $3`,
    [scope.chainId.toString(), scope.escrow.toLowerCase(), batchId],
  );
  return row;
}

/** The jobs whose charges a batch settled, those whose line became a debt included. */
export async function jobIdsOfBatch(db: Db, batchId: string): Promise<string[]> {
  const rows: { job_id: string }[] = await db.query(`SELECT DISTINCT job_id FROM charges WHERE settlement_batch = $1 OR debt_batch = $1`, [batchId]);
  return rows.map((r) => r.job_id);
}
