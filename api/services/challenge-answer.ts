import { ZeroHash, getAddress } from "ethers";
import type { EntityManager } from "typeorm";
import { signedJobOf, type SettleArgs } from "../../contracts/batch";
import { isSet } from "../../contracts/watchtower";
import { ordersOfJobs } from "../db/repositories/order.repository";
import { batchCommitment, batchOf, jobIdBytes32, jobIdsOfBatch, rebuiltBatch, type BatchScope } from "../db/repositories/settlement.repository";

type Db = Pick<EntityManager, "query">;
/** One job of an answer (EscrowChallenge.SignedJob). */
export type SignedJobArgs = ReturnType<typeof signedJobOf>;
import { callOf } from "./settlement-sender";

/** Why a challenged entry of one of this marketplace's batches cannot be answered from what it stored. */
export type Unanswerable = "unknown-batch" | "allowance" | "root-mismatch" | "short";

export const UNANSWERABLE: Record<Unanswerable, string> = {
  "unknown-batch": "a batch this marketplace has no record of (or whose BatchCommitted is not indexed yet); a batch it did not send means a settler key is used elsewhere",
  allowance: "an allowance entry the client's allowance did not cover (AllowanceShort); signed orders cannot answer it",
  "root-mismatch": "the batch's charges no longer give the root it was sent with",
  short: "the entry's signed orders do not cover its debit (the escrow takes only a full answer)",
};

/** Escrow.answer's arguments for a challenged entry: the batch as sent, its commitment, and the signed orders of its jobs. */
export interface ChallengeAnswer {
  call: SettleArgs;
  commitment: { settler: string; feeRecipient: string; settledAt: bigint };
  clientIndex: number;
  signed: SignedJobArgs[];
  debit: bigint;
}

/**
 * The answer to a challenge of entry `clientIndex` of batch `batchId`, from the stored batch, its charges (rebuilt,
 * their root checked against the one sent) and the clients' signed orders: each order leaf of the entry's client
 * with its order, signature and proof, in nonce order, when together they cover the entry's whole debit. Anyone may
 * post it (the escrow checks every signature and proof); `{ unanswerable }` says why there is none.
 */
export async function challengeAnswer(db: Db, scope: BatchScope, batchId: string, clientIndex: number): Promise<ChallengeAnswer | { unanswerable: Unanswerable; debit?: bigint; covered?: bigint }> {
  const row = await batchOf(db, scope, batchId);
  const commitment = await batchCommitment(db, scope.escrow, batchId);
  if (!row || !commitment) return { unanswerable: "unknown-batch" };
  const call = callOf(row);
  if (clientIndex < 0 || clientIndex >= call.clients.length) return { unanswerable: "unknown-batch" };
  if (isSet(call.allowanceBits, clientIndex)) return { unanswerable: "allowance" };
  const rebuilt = await rebuiltBatch(db, scope, row);
  if (!rebuilt) return { unanswerable: "root-mismatch" };
  const client = getAddress(call.clients[clientIndex]);
  const orders = new Map((await ordersOfJobs(db, scope, await jobIdsOfBatch(db, batchId))).map((o) => [jobIdBytes32(o.jobId), o]));
  const signed = rebuilt.leaves
    .filter((l) => l.client === client && l.orderHash !== ZeroHash && orders.has(l.jobId))
    .map((leaf) => ({ leaf, order: orders.get(leaf.jobId)! }))
    .sort((a, b) => (a.order.nonce < b.order.nonce ? -1 : a.order.nonce > b.order.nonce ? 1 : 0))
    .map(({ leaf, order }) => signedJobOf(rebuilt, leaf, { jobId: leaf.jobId, client, maxCost: order.maxCostWei, market: order.market, expiry: order.expiry, nonce: order.nonce }, order.signature));
  const debit = call.debits[clientIndex];
  const covered = signed.reduce((t, s) => t + s.debit, 0n);
  if (covered < debit) return { unanswerable: "short", debit, covered };
  return { call, commitment, clientIndex, signed, debit };
}
