import { ZeroHash, getAddress, type JsonRpcProvider, type Signer } from "ethers";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { escrowAt, nextNonce } from "../../contracts";
import { signedJobOf } from "../../contracts/batch";
import { isSet } from "../../contracts/watchtower";
import { classifyChainError, decodeRevert } from "../../contracts/chain-errors";
import { ordersOfJobs } from "../db/repositories/order.repository";
import { batchCommitment, batchOf, jobIdBytes32, jobIdsOfBatch, openChallenges, rebuiltBatch, type BatchScope } from "../db/repositories/settlement.repository";
import { callOf } from "../services/settlement-sender";
import { TX_WAIT_MS } from "./settlement.runner";

/** Escrow's challenge states (challengeOf): only an open one can be answered. */
const OPEN = 1n;

/** Challenges this process cannot answer, said once each (every pass would say it again). */
const reported = new Set<string>();
function reportOnce(logger: Logger, key: string, fields: Record<string, unknown>, message: string): void {
  if (reported.has(key)) return;
  reported.add(key);
  logger.error(fields, message);
}

/**
 * Answers every open challenge of this marketplace's batches with the clients' signed orders (Escrow.answer): the
 * batch is rebuilt from its stored charges (its Merkle root must be the one sent), and each order leaf of the
 * challenged entry is posted with its client's order, signature and proof, when they cover its whole debit (the
 * escrow takes no short answer): the challenge is then rejected and the credits paid. The
 * challenges are the indexer's mirror of ChallengeOpened; the chain says whether each is still open. A challenge
 * of a batch this marketplace did not send, or one whose orders are missing, is logged at error. Returns how many
 * answers were sent.
 */
export async function answerChallenges(db: DataSource, provider: JsonRpcProvider, scope: BatchScope, wallet: Signer, logger: Logger): Promise<number> {
  const open = await openChallenges(db, scope.escrow);
  if (open.length === 0) return 0;
  const contract = escrowAt(scope.escrow, wallet);
  let answered = 0;
  for (const ch of open) {
    const where = { batchId: ch.batchId, clientIndex: ch.clientIndex, client: ch.client };
    const [, , state] = (await contract.getFunction("challengeOf")(BigInt(ch.batchId), ch.clientIndex)) as [string, bigint, bigint];
    if (BigInt(state) !== OPEN) continue;
    const row = await batchOf(db, scope, ch.batchId);
    const commitment = await batchCommitment(db, scope.escrow, ch.batchId);
    if (!row || !commitment) {
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}`, where, "challenge: a batch this marketplace has no record of (or whose BatchCommitted is not indexed yet) is challenged; a batch it did not send means a settler key is used elsewhere");
      continue;
    }
    const call = callOf(row);
    const now = BigInt((await provider.getBlock("latest"))?.timestamp ?? 0);
    if (now > ch.deadline) {
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}:late`, where, "challenge: its answer period is over before this process could answer; resolveChallenge upholds it");
      continue;
    }
    if (isSet(call.allowanceBits, ch.clientIndex)) {
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}`, where, "challenge: an allowance entry the client's allowance did not cover (AllowanceShort) is challenged; signed orders cannot answer it");
      continue;
    }
    const rebuilt = await rebuiltBatch(db, scope, row);
    if (!rebuilt) {
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}`, { ...where, sent: call.merkleRoot }, "challenge: the batch's charges no longer give the root it was sent with; it cannot be answered");
      continue;
    }
    const client = getAddress(call.clients[ch.clientIndex]);
    const orders = new Map((await ordersOfJobs(db, scope, await jobIdsOfBatch(db, ch.batchId))).map((o) => [jobIdBytes32(o.jobId), o]));
    const signed = rebuilt.leaves
      .filter((l) => l.client === client && l.orderHash !== ZeroHash && orders.has(l.jobId))
      .map((leaf) => ({ leaf, order: orders.get(leaf.jobId)! }))
      .sort((a, b) => (a.order.nonce < b.order.nonce ? -1 : a.order.nonce > b.order.nonce ? 1 : 0))
      .map(({ leaf, order }) =>
        signedJobOf(rebuilt, leaf, { jobId: leaf.jobId, client, maxCost: order.maxCostWei, market: order.market, expiry: order.expiry, nonce: order.nonce }, order.signature),
      );
    const covered = signed.reduce((t, s) => t + s.debit, 0n);
    if (covered < call.debits[ch.clientIndex]) {
      // the escrow takes only a full answer (AnswerShort): this one is upheld at its deadline
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}`, { ...where, debit: call.debits[ch.clientIndex].toString(), covered: covered.toString() }, "challenge: the entry's signed orders do not cover its debit; it cannot be answered");
      continue;
    }
    try {
      const nonce = await nextNonce(provider, await wallet.getAddress());
      await (await contract.getFunction("answer")(call, commitment, ch.clientIndex, signed, { nonce })).wait(1, TX_WAIT_MS);
      answered++;
      logger.warn({ ...where, orders: signed.length }, "challenge: answered with the client's signed orders");
    } catch (err) {
      const failure = classifyChainError(decodeRevert(err, contract.interface));
      if (failure.retryable) throw err;
      logger.error({ ...where, reason: failure.reason }, "challenge: the chain refused the answer");
    }
  }
  return answered;
}
