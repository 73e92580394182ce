import type { DataSource } from "typeorm";
import { classifyChainError, type ChainFailure } from "../../contracts/chain-errors";
import type { SettleArgs } from "../../contracts/batch";
import { batchesIn, chargesOfBatch, insertBatch, moveBatch, type BatchRow, type BatchScope } from "../db/repositories/settlement.repository";
import { judgeSubmitted, planRetry, type TxLookup } from "./settlement-plan";
import { burnJobOrder } from "../db/repositories/order.repository";
import { lockBatchPayload, strandedBatches } from "../db/repositories/settlement-batch.repository";

/** The arguments of Escrow.settle for one batch. */
export type SettleCall = SettleArgs;

export interface SettleReceipt {
  ok: boolean;
  blockNumber: bigint;
  gasUsed: bigint;
}

/** What sends a batch to Escrow.settle (the chain adapter, with the settler's key). */
export interface SettlementWriter {
  isSettled(batchId: bigint): Promise<boolean>;
  /** Estimates (a revert of settle throws here, before anything is sent), takes the next nonce and signs. */
  sign(call: SettleCall): Promise<{ txHash: string; raw: string }>;
  /** Sends a signed transaction once. */
  broadcast(raw: string): Promise<void>;
  /** The transaction's receipt, waiting for it up to `waitMs`; null when there is none yet. */
  receipt(txHash: string, waitMs: number): Promise<SettleReceipt | null>;
  /** What the node knows of a transaction that has no receipt. */
  lookup(txHash: string): Promise<TxLookup>;
  /** Whether `client`'s order nonce is marked on chain (Escrow.isNonceUsed). */
  nonceUsed(client: string, nonce: bigint): Promise<boolean>;
}

export interface SenderSettings extends BatchScope {
  /** A sent transaction without a receipt, unknown to the node or replaced, is sent again after this long (default 60 s). */
  dropAfterMs?: number;
  /** How long a send waits for its receipt before leaving it to the next pass (default 10 s). */
  receiptWaitMs?: number;
  /** A refused single charge is sent again after this, doubled per refusal (default 30 s)... */
  retryBaseMs?: number;
  /** ...at most this (default 1 h). */
  retryMaxMs?: number;
}

/** A batch the chain refused: why, and the batches its charges went to. */
export interface RefusedBatch {
  batchId: bigint;
  reason: string;
  /** Jobs whose signed order was burned: its nonce was marked by a batch this marketplace did not send. */
  burnedOrders?: string[];
  into: bigint[];
}

export interface SubmitResult {
  sent: number;
  /** Batches whose transaction vanished (dropped, replaced, a chain reset), back to being sent under the same id. */
  resent: { batchId: bigint; txHash: string | null }[];
  refused: RefusedBatch[];
}

/** A retryable failure that stopped a pass: the node, the network or the sender (gas money, nonce), not a batch. */
export class SettlementRetry extends Error {
  constructor(
    readonly failure: ChainFailure,
    readonly batchId: bigint | undefined,
    override readonly cause: unknown,
  ) {
    super(`settlement: ${failure.reason}`);
    this.name = "SettlementRetry";
  }
}

/** A broadcast answered with these: the node already has this very transaction. */
const ALREADY_KNOWN = /already known|known transaction|already imported/i;

/** Errors of a broadcast that say for certain the transaction was not taken. */
const NOT_TAKEN = /insufficient funds|doesn't have enough funds|nonce (is )?too low|nonce has already been used|underpriced|invalid nonce|fee cap|base fee/i;

/** Escrow.settle's arguments of a stored batch, exactly as they were (or will be) sent. */
export function callOf(row: Pick<BatchRow, "batch_id" | "payload">): SettleCall {
  const p = row.payload;
  return {
    batchId: BigInt(row.batch_id),
    merkleRoot: p.merkleRoot,
    jobCount: p.jobCount,
    clients: p.clients,
    debits: p.debits.map(BigInt),
    providers: p.providers,
    credits: p.credits.map(BigInt),
    lines: (p.lines ?? []).map(BigInt),
    allowanceBits: (p.allowanceBits ?? []).map(BigInt),
    nonceMarks: (p.nonceMarks ?? []).map(BigInt),
  };
}

/**
 * The sender's state machine over the batches of one chain and escrow. Each pass: (1) every SUBMITTED batch's
 * transaction is looked at: a receipt records its block and gas, a revert refuses the batch, a transaction the node
 * no longer knows (dropped, replaced, or a chain reset) puts the batch back to PENDING under the same id (the
 * contract settles an id once, so this is safe); (2) every due PENDING batch is sent: the chain is asked first
 * whether the id is settled, then the transaction is signed, recorded (hash first, so a crash after sending never
 * loses it) and broadcast. A refused batch (a revert of settle itself) is FAILED with its reason and its charges
 * re-batched (`planRetry`). A retryable failure is recorded on the batch and ends the pass with SettlementRetry:
 * nothing retryable is ever marked FAILED.
 */
export class SettlementSender {
  constructor(
    private readonly db: DataSource,
    private readonly settings: SenderSettings,
  ) {}

  async submit(writer: SettlementWriter, now = new Date()): Promise<SubmitResult> {
    const result: SubmitResult = { sent: 0, resent: [], refused: [] };
    await this.rebatchStranded(writer, now, result);
    for (const row of await batchesIn(this.db, this.settings, ["SUBMITTED", "CONFIRMED"])) {
      if (row.status === "CONFIRMED" && (row.gas_used !== null || row.tx_hash === null)) continue;
      await this.guard(row, () => this.check(writer, row, now, result));
    }
    for (const row of await batchesIn(this.db, this.settings, ["PENDING"])) {
      if (row.payload.notBefore && new Date(row.payload.notBefore).getTime() > now.getTime()) continue;
      await this.guard(row, () => this.send(writer, row, now, result));
    }
    return result;
  }

  /**
   * Refuses a batch for good and re-batches its charges in one transaction; the new batch ids. With `wait` false (an
   * operator's request, or a batch refused long ago) the new batches are due at once.
   */
  async refuse(batchId: string, reason: string, now: Date, wait = true): Promise<bigint[]> {
    return this.db.transaction(async (tx) => {
      const row = await lockBatchPayload(tx, batchId);
      if (!row) return [];
      await moveBatch(tx, batchId, ["PENDING", "SUBMITTED", "FAILED"], { status: "FAILED", error: reason });
      const payload = row.payload;
      const charges = await chargesOfBatch(tx, batchId);
      const into: bigint[] = [];
      const backoff = { baseMs: this.settings.retryBaseMs ?? 30_000, maxMs: this.settings.retryMaxMs ?? 3_600_000 };
      // the charges of one signed order stay in one batch: a batch marks its order's nonce, which a second batch cannot
      for (const part of planRetry(charges, payload.retry?.attempt ?? 0, backoff, (c) => (c.order_nonce === null ? c.id : `order:${c.job_id}`))) {
        const notBefore = wait && part.delayMs > 0 ? new Date(now.getTime() + part.delayMs).toISOString() : undefined;
        into.push(await insertBatch(tx, this.settings, part.rows, { retry: { of: batchId, attempt: part.attempt, reason: reason.slice(0, 200) }, notBefore }));
      }
      return into;
    });
  }

  private async guard(row: BatchRow, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof SettlementRetry) throw err;
      const failure = classifyChainError(err);
      if (!failure.retryable) throw err;
      await moveBatch(this.db, row.batch_id, [row.status], { error: failure.reason }).catch(() => undefined);
      throw new SettlementRetry(failure, BigInt(row.batch_id), err);
    }
  }

  /** FAILED batches that still hold charges (refused before charges were re-batched): re-batched now. */
  private async rebatchStranded(writer: SettlementWriter, now: Date, result: SubmitResult): Promise<void> {
    const rows = await strandedBatches(this.db, this.settings);
    for (const r of rows) {
      if (await writer.isSettled(BigInt(r.batch_id))) {
        await moveBatch(this.db, r.batch_id, ["FAILED"], { status: "SUBMITTED", error: null });
        continue;
      }
      const reason = r.error ?? "refused";
      result.refused.push({ batchId: BigInt(r.batch_id), reason, into: await this.refuse(r.batch_id, reason, now, false) });
    }
  }

  private async check(writer: SettlementWriter, row: BatchRow, now: Date, result: SubmitResult): Promise<void> {
    const receipt = row.tx_hash ? await writer.receipt(row.tx_hash, 0) : null;
    const lookup = receipt || !row.tx_hash ? undefined : await writer.lookup(row.tx_hash);
    const ageMs = now.getTime() - (row.submitted_at?.getTime() ?? 0);
    const verdict = judgeSubmitted({ receipt, lookup: row.tx_hash ? lookup : "unknown", ageMs, dropAfterMs: this.settings.dropAfterMs ?? 60_000 });
    if (verdict === "mined" && receipt) {
      await moveBatch(this.db, row.batch_id, [row.status], { blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }, row.tx_hash);
    } else if (verdict === "reverted" && row.status === "SUBMITTED" && !(await writer.isSettled(BigInt(row.batch_id)))) {
      const reason = `settle reverted on chain in ${row.tx_hash}`;
      result.refused.push({ batchId: BigInt(row.batch_id), reason, into: await this.refuse(row.batch_id, reason, now) });
    } else if (verdict === "vanished" && row.status === "SUBMITTED" && !(await writer.isSettled(BigInt(row.batch_id)))) {
      const error = `transaction ${row.tx_hash ?? "(none recorded)"} is not on the chain (dropped, replaced, or a chain reset): sending the batch again`;
      if (await moveBatch(this.db, row.batch_id, ["SUBMITTED"], { status: "PENDING", txHash: null, blockNumber: null, gasUsed: null, error }, row.tx_hash)) {
        result.resent.push({ batchId: BigInt(row.batch_id), txHash: row.tx_hash });
        row.status = "PENDING";
        row.tx_hash = null;
        await this.send(writer, row, now, result);
      }
    }
  }

  private async send(writer: SettlementWriter, row: BatchRow, now: Date, result: SubmitResult): Promise<void> {
    const batchId = BigInt(row.batch_id);
    if (await writer.isSettled(batchId)) {
      await moveBatch(this.db, row.batch_id, ["PENDING"], { status: "SUBMITTED", submittedAt: now, error: null });
      return;
    }
    let signed: { txHash: string; raw: string };
    try {
      signed = await writer.sign(callOf(row));
    } catch (err) {
      return this.refuseIfPermanent(writer, row, err, now, result);
    }
    if (!(await moveBatch(this.db, row.batch_id, ["PENDING"], { status: "SUBMITTED", txHash: signed.txHash, blockNumber: null, gasUsed: null, submittedAt: now, error: null }))) return;
    try {
      await writer.broadcast(signed.raw);
    } catch (err) {
      const failure = classifyChainError(err);
      if (!failure.retryable) return this.refuseIfPermanent(writer, row, err, now, result);
      if (ALREADY_KNOWN.test(failure.reason)) return;
      if (NOT_TAKEN.test(failure.reason)) await moveBatch(this.db, row.batch_id, ["SUBMITTED"], { status: "PENDING", txHash: null, error: failure.reason }, signed.txHash);
      throw new SettlementRetry(failure, batchId, err);
    }
    result.sent++;
    const receipt = await writer.receipt(signed.txHash, this.settings.receiptWaitMs ?? 10_000);
    if (receipt?.ok) await moveBatch(this.db, row.batch_id, ["SUBMITTED", "CONFIRMED", "FINALIZED"], { blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }, signed.txHash);
    else if (receipt && !(await writer.isSettled(batchId))) {
      const reason = `settle reverted on chain in ${signed.txHash}`;
      result.refused.push({ batchId, reason, into: await this.refuse(row.batch_id, reason, now) });
    }
  }

  private async refuseIfPermanent(writer: SettlementWriter, row: BatchRow, err: unknown, now: Date, result: SubmitResult): Promise<void> {
    const failure = classifyChainError(err);
    if (failure.retryable) throw err;
    const batchId = BigInt(row.batch_id);
    if (await writer.isSettled(batchId)) {
      await moveBatch(this.db, row.batch_id, ["PENDING", "SUBMITTED"], { status: "SUBMITTED", error: null });
      return;
    }
    const burnedOrders = NONCE_REUSED.test(failure.reason) ? await this.burnMarkedOrders(writer, row.batch_id) : [];
    result.refused.push({ batchId, reason: failure.reason, into: await this.refuse(row.batch_id, failure.reason, now, burnedOrders.length === 0), ...(burnedOrders.length ? { burnedOrders } : {}) });
  }

  /**
   * The batch was refused because a nonce it marks is marked on chain already. This marketplace marks each order's
   * nonce in one batch only, so another settler key marked it (a thief's batch, which a challenge undoes, but not
   * its nonce marks): each such order is burned, and its job's charges settle without it (on a windowed escrow
   * from the client's allowance). The jobs whose orders were burned.
   */
  private async burnMarkedOrders(writer: SettlementWriter, batchId: string): Promise<string[]> {
    const seen = new Set<string>();
    const burned: string[] = [];
    for (const c of await chargesOfBatch(this.db, batchId, false)) {
      if (c.order_nonce === null || seen.has(c.job_id)) continue;
      seen.add(c.job_id);
      if ((await writer.nonceUsed(c.client, BigInt(c.order_nonce))) && (await burnJobOrder(this.db, c.job_id))) burned.push(c.job_id);
    }
    return burned;
  }
}

/** Escrow's revert when a batch marks a nonce that is marked already. */
const NONCE_REUSED = /NonceReused/;
