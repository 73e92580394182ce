import type { DataSource } from "typeorm";
import { feeWei } from "../../pricing";
import { buildSettlement, type SettledJob } from "../../contracts/batch";
import { updateReturning } from "../db/query";
import { decodeOrdinalCursor, ordinalCursor } from "./paging";
import { pageSize } from "./offer.service";

/** What sends a batch to Escrow.settle (the chain adapter, with the settler's key). */
export interface SettlementWriter {
  isSettled(batchId: bigint): Promise<boolean>;
  settle(batch: { batchId: bigint; merkleRoot: string; jobCount: number; clients: string[]; debits: bigint[]; providers: string[]; credits: bigint[] }): Promise<{ txHash: string; blockNumber: bigint; gasUsed: bigint }>;
}

export interface SettlementSettings {
  chainId: bigint;
  escrow: string;
  /** A batch is sent when it has this many charges... */
  batchSize: number;
  /** ...or its oldest charge is this old. */
  maxAgeMs: number;
  /** Protocol fee on each charge, in basis points. */
  feeBps: number;
}

export interface SettlementView {
  batchId: bigint;
  status: string;
  jobCount: number;
  totalAmountWei: bigint;
  txHash: string | null;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  confirmedAt: Date | null;
}

/** bytes32 of a job id (a UUID): its 16 bytes, left-aligned. */
export function jobIdBytes32(uuid: string): string {
  return `0x${uuid.replace(/-/g, "").padEnd(64, "0")}`;
}

/**
 * Batch settlement of charges: `gather` records a batch durably (the charges it takes, the exact settle()
 * arguments) before anything is sent; `submit` sends each open batch once, first asking the chain whether that
 * batch id is already settled (so a restart after sending never settles twice, and the contract refuses a second
 * settlement of an id anyway). The indexer marks batches CONFIRMED and FINALIZED from BatchSettled events.
 */
export class SettlementService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: SettlementSettings,
  ) {}

  /** Takes unsettled charges into a new batch when there are enough, or the oldest waited long enough. */
  async gather(now = new Date()): Promise<bigint | undefined> {
    return this.db.transaction(async (tx) => {
      const rows: { id: string; job_id: string; amount_wei: string; created_at: Date; client: string; provider: string; result_hash: string | null }[] = await tx.query(
        `SELECT c.id, c.job_id, c.amount_wei, c.created_at, ca.address AS client, pa.address AS provider, a.result_hash
           FROM charges c
           JOIN accounts ca ON ca.id = c.client_id
           JOIN accounts pa ON pa.id = c.provider_id
           JOIN assignments a ON a.id = c.assignment_id
          WHERE c.settlement_batch IS NULL
          ORDER BY c.created_at, c.id LIMIT $1
          FOR UPDATE OF c SKIP LOCKED`,
        [this.settings.batchSize],
      );
      if (rows.length === 0) return undefined;
      if (rows.length < this.settings.batchSize && now.getTime() - rows[0].created_at.getTime() < this.settings.maxAgeMs) return undefined;
      const jobs: SettledJob[] = rows.map((r) => {
        const debit = BigInt(r.amount_wei);
        return {
          jobId: jobIdBytes32(r.job_id),
          client: r.client,
          provider: r.provider,
          debitWei: debit,
          creditWei: debit - feeWei(debit, this.settings.feeBps),
          resultHash: `0x${(r.result_hash ?? "").padStart(64, "0")}`,
        };
      });
      const [{ batch_id }] = await tx.query(`SELECT nextval(pg_get_serial_sequence('settlements', 'batch_id')) AS batch_id`);
      const batch = buildSettlement(BigInt(batch_id), jobs);
      const payload = {
        merkleRoot: batch.merkleRoot,
        jobCount: batch.jobCount,
        clients: batch.clients,
        debits: batch.debits.map(String),
        providers: batch.providers,
        credits: batch.credits.map(String),
      };
      const total = batch.debits.reduce((a, b) => a + b, 0n);
      await tx.query(
        `INSERT INTO settlements (batch_id, chain_id, escrow, job_count, total_amount, fee_amount, merkle_root, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [batch_id, this.settings.chainId.toString(), this.settings.escrow.toLowerCase(), batch.jobCount, total.toString(), batch.feeWei.toString(), batch.merkleRoot, JSON.stringify(payload)],
      );
      for (const [i, r] of rows.entries()) {
        await tx.query(`UPDATE charges SET settlement_batch = $2, fee_wei = $3 WHERE id = $1`, [r.id, batch_id, (jobs[i].debitWei - jobs[i].creditWei).toString()]);
      }
      return BigInt(batch_id);
    });
  }

  /** Sends every open batch of this chain and escrow, oldest first; returns how many were sent. */
  async submit(writer: SettlementWriter): Promise<number> {
    const open: { batch_id: string; payload: { merkleRoot: string; jobCount: number; clients: string[]; debits: string[]; providers: string[]; credits: string[] } }[] = await this.db.query(
      `SELECT batch_id, payload FROM settlements WHERE status = 'PENDING' AND chain_id = $1 AND escrow = $2 ORDER BY batch_id`,
      [this.settings.chainId.toString(), this.settings.escrow.toLowerCase()],
    );
    let sent = 0;
    for (const row of open) {
      const batchId = BigInt(row.batch_id);
      if (await writer.isSettled(batchId)) {
        await this.db.query(`UPDATE settlements SET status = 'SUBMITTED', submitted_at = coalesce(submitted_at, now()) WHERE batch_id = $1 AND status = 'PENDING'`, [row.batch_id]);
        continue;
      }
      try {
        const p = row.payload;
        const receipt = await writer.settle({ batchId, merkleRoot: p.merkleRoot, jobCount: p.jobCount, clients: p.clients, debits: p.debits.map(BigInt), providers: p.providers, credits: p.credits.map(BigInt) });
        await this.db.query(
          `UPDATE settlements SET status = CASE WHEN status = 'PENDING' THEN 'SUBMITTED' ELSE status END, tx_hash = $2, block_number = $3, gas_used = $4, submitted_at = now() WHERE batch_id = $1`,
          [row.batch_id, receipt.txHash, receipt.blockNumber.toString(), receipt.gasUsed.toString()],
        );
        sent++;
      } catch (err) {
        if (await writer.isSettled(batchId).catch(() => false)) continue;
        const message = err instanceof Error ? err.message : String(err);
        if (/revert|insufficient|exceeds/i.test(message)) {
          await this.db.query(`UPDATE settlements SET status = 'FAILED', error = $2 WHERE batch_id = $1`, [row.batch_id, message.slice(0, 500)]);
        } else throw err;
      }
    }
    return sent;
  }

  /** Settlements newest first. */
  async list(first: number | null | undefined, after: string | null | undefined): Promise<{ settlements: SettlementView[]; cursors: string[]; hasNextPage: boolean }> {
    const size = pageSize(first);
    const before = after ? decodeOrdinalCursor("s", after) : undefined;
    const rows = await this.db.query(
      `SELECT batch_id, status, job_count, total_amount, tx_hash, block_number, gas_used, confirmed_at FROM settlements
        WHERE $1::bigint IS NULL OR batch_id < $1 ORDER BY batch_id DESC LIMIT $2`,
      [before?.toString() ?? null, size + 1],
    );
    const settlements: SettlementView[] = rows.slice(0, size).map(toView);
    return { settlements, cursors: settlements.map((s) => ordinalCursor("s", s.batchId)), hasNextPage: rows.length > size };
  }

  /** Each job's line in a confirmed batch: the batch and what the job paid. */
  async ofJobs(jobIds: readonly string[]): Promise<Map<string, SettlementView & { amountWei: bigint }>> {
    const rows = await this.db.query(
      `SELECT c.job_id, sum(c.amount_wei) AS amount, s.batch_id, s.status, s.job_count, s.total_amount, s.tx_hash, s.block_number, s.gas_used, s.confirmed_at
         FROM charges c JOIN settlements s ON s.batch_id = c.settlement_batch
        WHERE c.job_id = ANY($1::uuid[]) AND s.status IN ('CONFIRMED', 'FINALIZED')
        GROUP BY c.job_id, s.batch_id`,
      [jobIds],
    );
    return new Map(rows.map((r: Record<string, unknown>) => [r.job_id as string, { ...toView(r), amountWei: BigInt(r.amount as string) }]));
  }

  /** Marks a batch FAILED by hand (an operator's decision after a revert), freeing its charges for a new batch. */
  async release(batchId: bigint): Promise<boolean> {
    const rows = await updateReturning(this.db, `UPDATE settlements SET status = 'FAILED' WHERE batch_id = $1 AND status IN ('PENDING', 'FAILED') RETURNING batch_id`, [batchId.toString()]);
    if (rows.length === 0) return false;
    await this.db.query(`UPDATE charges SET settlement_batch = NULL WHERE settlement_batch = $1`, [batchId.toString()]);
    return true;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toView(r: any): SettlementView {
  return {
    batchId: BigInt(r.batch_id),
    status: r.status,
    jobCount: r.job_count,
    totalAmountWei: BigInt(r.total_amount),
    txHash: r.tx_hash,
    blockNumber: r.block_number === null ? null : BigInt(r.block_number),
    gasUsed: r.gas_used === null ? null : BigInt(r.gas_used),
    confirmedAt: r.confirmed_at,
  };
}
