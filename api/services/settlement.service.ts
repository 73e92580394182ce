import type { DataSource } from "typeorm";
import { batchesCrediting, insertBatch, lastBatchWithReputation, openChallenges, rebuiltBatch, unbatchedCharges } from "../db/repositories/settlement.repository";
import { escrowAt } from "../../contracts";
import { challengeAnswer, UNANSWERABLE } from "./challenge-answer";
import { getAddress } from "ethers";
import { reputationLeaf, type ReputationLeaf } from "../../contracts/batch";
import { badInput, conflict, notFound } from "./errors";
import { SettlementSender, type SenderSettings, type SettlementWriter, type SubmitResult } from "./settlement-sender";
import { decodeOrdinalCursor, ordinalCursor, pageSize } from "./paging";
import { batchForRebatch, clearBatchBackoff, debtsOfBatches, jobSettlementRows, settlementsPage, type SettlementListRow } from "../db/repositories/settlement-batch.repository";

export interface SettlementSettings extends Omit<SenderSettings, "chainId" | "escrow" | "feeBps"> {
  chainId: bigint;
  escrow: string;
  /** A batch is sent when it has this many charges... */
  batchSize: number;
  /** ...or its oldest charge is this old. */
  maxAgeMs: number;
  /** Protocol fee on each charge, in basis points. */
  feeBps: number;
  /**
   * Whether the escrow has a challenge window (unsigned charges then take the client's allowance), asked before a
   * batch is gathered until it answers (the chain node may be down at start); absent: no window.
   */
  windowed?: () => Promise<boolean>;
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
  /** The batch's lines that became debts on chain (DebtRecorded), and whether each is paid. */
  debts: { debtId: bigint; client: string; amountWei: bigint; paid: boolean }[];
}

/** A provider's reputation counters as the newest confirmed batch naming it committed them, with the Merkle proof. */
/** An open challenge of one of this marketplace's batch entries, and the answer anyone may post to it. */
export interface ChallengeView {
  batchId: bigint;
  clientIndex: number;
  client: string;
  /** Unix seconds: the last moment an answer is taken. */
  deadline: bigint;
  escrow: string;
  debitWei: bigint | null;
  /** Escrow.answer's calldata (send it to `escrow`), or null when the stored orders cannot answer. */
  answerCalldata: string | null;
  answerOrders: number;
  unanswerable: string | null;
}

export interface ReputationProofView {
  batchId: bigint;
  txHash: string | null;
  blockNumber: bigint | null;
  merkleRoot: string;
  counters: ReputationLeaf;
  leaf: string;
  proof: string[];
}

/** A job's line in a settled batch: the batch, and what of it is the job's charges. */
export type JobSettlementLine = SettlementView & { amountWei: bigint };

export { jobIdBytes32 } from "../db/repositories/settlement.repository";
export type { SettlementWriter, SubmitResult } from "./settlement-sender";

/**
 * Batch settlement of charges: `gather` records a batch durably (the charges it takes, the exact settle()
 * arguments) before anything is sent; `submit` sends due batches and follows sent ones (SettlementSender: a
 * vanished transaction is sent again under the same id, a refused batch's charges are re-batched, retryable
 * failures are retried); `rebatch` is the operator's way out. The indexer marks batches CONFIRMED and FINALIZED
 * from BatchSettled events.
 */
export class SettlementService {
  private readonly sender: SettlementSender;

  constructor(
    private readonly db: DataSource,
    private readonly settings: SettlementSettings,
  ) {
    this.sender = new SettlementSender(db, settings);
  }

  /** Takes unsettled charges into a new batch when there are enough, or the oldest waited long enough. */
  async gather(now = new Date()): Promise<bigint | undefined> {
    if (this.settings.windowed && this.settings.allowanceForUnsigned === undefined) this.settings.allowanceForUnsigned = await this.settings.windowed();
    return this.db.transaction(async (tx) => {
      const rows = await unbatchedCharges(tx, this.settings.batchSize);
      if (rows.length === 0) return undefined;
      if (rows.length < this.settings.batchSize && now.getTime() - rows[0].created_at.getTime() < this.settings.maxAgeMs) return undefined;
      return insertBatch(tx, this.settings, rows);
    });
  }

  /**
   * Sends what is due and looks after what was sent (SettlementSender): returns what was sent, sent again and refused;
   * throws SettlementRetry when the node, the network or the settler's account stopped the pass.
   */
  submit(writer: SettlementWriter, now = new Date()): Promise<SubmitResult> {
    return this.sender.submit(writer, now);
  }

  /** Settlements newest first. */
  async list(first: number | null | undefined, after: string | null | undefined): Promise<{ settlements: SettlementView[]; cursors: string[]; hasNextPage: boolean }> {
    const size = pageSize(first);
    const before = after ? decodeOrdinalCursor("s", after) : undefined;
    const rows = await settlementsPage(this.db, before, size + 1);
    const settlements: SettlementView[] = await this.withDebts(rows.slice(0, size).map(toView));
    return { settlements, cursors: settlements.map((s) => ordinalCursor("s", s.batchId)), hasNextPage: rows.length > size };
  }

  /** Each job's line in a confirmed batch: the batch and what the job paid. */
  async ofJobs(jobIds: readonly string[]): Promise<Map<string, JobSettlementLine>> {
    const rows = await jobSettlementRows(this.db, jobIds);
    return new Map(rows.map((r) => [r.job_id, { ...toView(r), amountWei: BigInt(r.amount) }]));
  }

  /**
   * The proof of `address`'s reputation counters on chain: its leaf in the newest confirmed batch that named it (a
   * provider of that batch), and the path to the batch's Merkle root, which the chain holds (BatchSettled). Null for
   * an address no confirmed batch names, or when the batch cannot be rebuilt as sent.
   */
  async reputationProof(address: string): Promise<ReputationProofView | null> {
    const row = await lastBatchWithReputation(this.db, this.settings, address);
    if (!row) return null;
    const batch = await rebuiltBatch(this.db, this.settings, row);
    const counters = batch?.reputation.find((r) => r.provider === getAddress(address));
    if (!batch || !counters) return null;
    const leaf = reputationLeaf(counters);
    return { batchId: BigInt(row.batch_id), txHash: row.tx_hash, blockNumber: row.block_number === null ? null : BigInt(row.block_number), merkleRoot: batch.merkleRoot, counters, leaf, proof: batch.tree.proofOf(leaf) };
  }

  /**
   * Open challenges of this marketplace's batches (as the indexer mirrored ChallengeOpened), oldest first; with
   * `creditedTo`, those of batches crediting that address. Each comes with the calldata of Escrow.answer built from
   * the clients' stored signed orders, when they cover the entry: anyone may send it (a provider's agent defends its
   * credit so), the escrow checks every signature and proof. At most `limit`.
   */
  async challenges(creditedTo: string | null, limit: number): Promise<ChallengeView[]> {
    let open = await openChallenges(this.db, this.settings.escrow);
    if (creditedTo !== null) {
      const crediting = await batchesCrediting(this.db, open.map((c) => c.batchId), getAddress(creditedTo));
      open = open.filter((c) => crediting.has(c.batchId));
    }
    const escrow = escrowAt(this.settings.escrow);
    const views: ChallengeView[] = [];
    for (const ch of open.slice(0, limit)) {
      const a = await challengeAnswer(this.db, this.settings, ch.batchId, ch.clientIndex);
      const base = { batchId: BigInt(ch.batchId), clientIndex: ch.clientIndex, client: getAddress(ch.client), deadline: ch.deadline, escrow: getAddress(this.settings.escrow) };
      if ("unanswerable" in a) views.push({ ...base, debitWei: a.debit ?? null, answerCalldata: null, answerOrders: 0, unanswerable: UNANSWERABLE[a.unanswerable] });
      else {
        const answerCalldata = escrow.interface.encodeFunctionData("answer", [a.call, a.commitment, a.clientIndex, a.signed]);
        views.push({ ...base, debitWei: a.debit, answerCalldata, answerOrders: a.signed.length, unanswerable: null });
      }
    }
    return views;
  }

  /** The batches with their debts, as the indexed DebtRecorded and DebtPaid events of this escrow say. */
  private async withDebts(views: SettlementView[]): Promise<SettlementView[]> {
    if (views.length === 0) return views;
    const rows = await debtsOfBatches(this.db, this.settings, views.map((v) => v.batchId.toString()));
    return views.map((v) => ({
      ...v,
      debts: rows.filter((r) => r.batch_id === v.batchId.toString()).map((r) => ({ debtId: BigInt(r.debt_id), client: r.client, amountWei: BigInt(r.amount), paid: r.paid })),
    }));
  }

  /**
   * An operator's way out for a batch: a FAILED one that still holds charges has them re-batched now; a PENDING one
   * waiting out a retry backoff is sent on the next pass. Anything else is refused with why (a batch that was sent
   * may still settle under its id, so its charges are never moved).
   */
  async rebatch(batchIdText: string, now = new Date()): Promise<{ batchId: bigint; action: "rebatched" | "retry-now"; into: bigint[] }> {
    if (!/^[1-9][0-9]{0,18}$/.test(batchIdText)) throw badInput(`batch id must be a positive integer, got "${batchIdText.slice(0, 40)}"`);
    const row = await batchForRebatch(this.db, batchIdText);
    const batchId = BigInt(batchIdText);
    if (!row) throw notFound("settlement batch", batchIdText);
    if (row.status === "FAILED" && row.charges > 0) return { batchId, action: "rebatched", into: await this.sender.refuse(batchIdText, row.error ?? "re-batched by an operator", now, false) };
    if (row.status === "PENDING" && row.tx_hash === null && row.payload.notBefore) {
      await clearBatchBackoff(this.db, batchIdText);
      return { batchId, action: "retry-now", into: [] };
    }
    throw conflict(`batch ${batchIdText} is ${row.status}${row.status === "FAILED" ? " and its charges were already re-batched" : ""}: nothing to re-batch`);
  }
}

function toView(r: SettlementListRow): SettlementView {
  return {
    batchId: BigInt(r.batch_id),
    status: r.status,
    jobCount: r.job_count,
    totalAmountWei: BigInt(r.total_amount),
    txHash: r.tx_hash,
    blockNumber: r.block_number === null ? null : BigInt(r.block_number),
    gasUsed: r.gas_used === null ? null : BigInt(r.gas_used),
    confirmedAt: r.confirmed_at,
    debts: [],
  };
}
