import type { JsonRpcProvider, Signer } from "ethers";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { escrowAt, nextNonce } from "../../contracts";
import { classifyChainError, decodeRevert } from "../../contracts/chain-errors";
import { openChallenges, type BatchScope } from "../db/repositories/settlement.repository";
import { challengeAnswer, UNANSWERABLE } from "../services/challenge-answer";
import { refundEntry, upheldEntriesToApply } from "../db/repositories/challenge.repository";
import { inTransaction } from "../db/transaction";
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
    const now = BigInt((await provider.getBlock("latest"))?.timestamp ?? 0);
    if (now > ch.deadline) {
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}:late`, where, "challenge: its answer period is over before this process could answer; resolveChallenge upholds it");
      continue;
    }
    const answer = await challengeAnswer(db, scope, ch.batchId, ch.clientIndex);
    if ("unanswerable" in answer) {
      const amounts = answer.debit === undefined ? {} : { debit: answer.debit.toString(), covered: answer.covered?.toString() };
      reportOnce(logger, `${ch.batchId}:${ch.clientIndex}`, { ...where, ...amounts }, `challenge: it cannot be answered: ${UNANSWERABLE[answer.unanswerable]}`);
      continue;
    }
    const { call, commitment, signed } = answer;
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

/**
 * Mirrors upheld challenges of this marketplace's batches (final ChallengeResolved, upheld: nobody answered): the
 * entry's charges are marked refunded and their amount taken off the client's spent escrow, so the API's balances
 * and providers' earnings agree with the chain, which gave the debit back and took the credits back. Logged at
 * error: an upheld entry of an honest batch means the orders could not answer it. How many entries were applied.
 */
export async function mirrorUpheld(db: DataSource, scope: BatchScope, logger: Logger): Promise<number> {
  const entries = await upheldEntriesToApply(db, scope);
  for (const entry of entries) {
    const refunded = await inTransaction(db, (tx) => refundEntry(tx, entry));
    logger.error({ batchId: entry.batchId, clientIndex: entry.clientIndex, client: entry.client, refunded: refunded.toString(), onChain: entry.refunded.toString() }, "challenge: upheld on chain; the entry's charges are refunded to the client and its providers are not paid for them");
  }
  return entries.length;
}
