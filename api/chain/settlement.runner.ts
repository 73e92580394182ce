import { keccak256, type JsonRpcProvider, type Signer } from "ethers";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { escrowAt, nextNonce, stakingAt } from "../../contracts";
import { settleTuple } from "../../contracts/batch";
import { classifyChainError, decodeRevert } from "../../contracts/chain-errors";
import type { SettlementService } from "../services/settlement.service";
import { SettlementRetry, type SettlementWriter } from "../services/settlement-sender";
import { retryDelayMs } from "../services/settlement-plan";

/** How long a holds or slash transaction is waited for before the pass moves on (it is looked at again next pass). */
export const TX_WAIT_MS = 30_000;

/** Escrow.settle through ethers with the settler's signer (a key, a key file or a remote signer: contracts/signer.ts); nonces asked of the node (one sender). */
export function ethersSettlementWriter(provider: JsonRpcProvider, escrow: string, wallet: Signer): SettlementWriter {
  const contract = escrowAt(escrow, wallet);
  const settle = contract.getFunction("settle");
  return {
    async isSettled(batchId) {
      return Boolean(await contract.getFunction("isSettled")(batchId));
    },
    async sign(b) {
      const args = [settleTuple(b)] as const;
      const gasLimit = await settle.estimateGas(...args).catch((err) => Promise.reject(decodeRevert(err, contract.interface)));
      const nonce = await nextNonce(provider, await wallet.getAddress());
      const raw = await wallet.signTransaction(await wallet.populateTransaction(await settle.populateTransaction(...args, { nonce, gasLimit })));
      return { txHash: keccak256(raw), raw };
    },
    async broadcast(raw) {
      await provider.send("eth_sendRawTransaction", [raw]).catch((err) => Promise.reject(decodeRevert(err, contract.interface)));
    },
    async receipt(txHash, waitMs) {
      const until = Date.now() + waitMs;
      for (;;) {
        const r = await provider.getTransactionReceipt(txHash);
        if (r) return { ok: r.status === 1, blockNumber: BigInt(r.blockNumber), gasUsed: BigInt(r.gasUsed) };
        if (Date.now() >= until) return null;
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, until - Date.now())));
      }
    },
    async nonceUsed(client, nonce) {
      return Boolean(await contract.getFunction("isNonceUsed")(client, nonce));
    },
    async lookup(txHash) {
      const tx = await provider.getTransaction(txHash);
      if (!tx) return "unknown";
      if (tx.blockNumber !== null) return "mined";
      const mined = Number(BigInt(await provider.send("eth_getTransactionCount", [tx.from, "latest"])));
      return tx.nonce < mined ? "replaced" : "pending";
    },
  };
}

export interface SettlementRunner {
  /** One pass now (tests; `kick` for callers that should not wait). */
  pass(now?: Date): Promise<void>;
  /** Runs a pass soon (e.g. after the indexer rewound or saw a deposit), unless one is running or backing off. */
  kick(): void;
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`: mirrors the clients' spending allowances, answers open challenges, mirrors holds, gathers due charges into batches, sends them and follows what was sent, then
 * pays settlement debts that the clients' balances now cover, and sends slashes. One pass at a time. A pass stopped by a retryable failure (the node, the network, the settler's gas
 * money or nonce) is logged at warn and the next waits `intervalMs` doubled per failure in a row, at most
 * `maxBackoffMs` (default 5 minutes); a batch the chain refused is logged at warn with why and where its charges went,
 * and so is one sent again because its transaction vanished.
 */
export function startSettlement(deps: {
  service: SettlementService;
  writer: SettlementWriter;
  intervalMs: number;
  maxBackoffMs?: number;
  logger: Logger;
  slashes?: () => Promise<number>;
  holds?: () => Promise<number>;
  /** Pays open settlement debts whose client's free balance on chain now covers them (payDebts). */
  debts?: () => Promise<number>;
  /** Answers open challenges of this marketplace's batches with the clients' signed orders (answerChallenges). */
  challenges?: () => Promise<number>;
  /** Mirrors the escrow's window and the clients' spending allowances (syncAllowances). */
  allowances?: () => Promise<number>;
  clock?: () => Date;
}): SettlementRunner {
  const clock = deps.clock ?? (() => new Date());
  let running = false;
  let failures = 0;
  let notBefore = 0;
  const pass = async (now = clock()) => {
    // first: a challenge's answer has a deadline
    // read-only, first: a settler that cannot send (no gas) still leaves admission its allowances
    await deps.allowances?.();
    await deps.challenges?.();
    const held = (await deps.holds?.()) ?? 0;
    if (held) deps.logger.info({ accounts: held }, "settlement: holds mirrored on chain");
    let made = 0;
    while ((await deps.service.gather(now)) !== undefined) made++;
    const result = await deps.service.submit(deps.writer, now);
    for (const r of result.resent) deps.logger.warn({ batchId: r.batchId.toString(), txHash: r.txHash }, "settlement: a batch's transaction is no longer on the chain (dropped, replaced, or a chain reset); sent again under the same id");
    for (const r of result.refused) deps.logger.warn({ batchId: r.batchId.toString(), reason: r.reason, into: r.into.map(String) }, "settlement: the chain refused a batch; its charges were re-batched");
    for (const r of result.refused.filter((x) => x.burnedOrders)) {
      deps.logger.error({ batchId: r.batchId.toString(), jobs: r.burnedOrders }, "settlement: a batch this marketplace did not send marked these jobs' order nonces first (a settler key used elsewhere?); their orders are burned and they settle without them");
    }
    if (made || result.sent) deps.logger.info({ batches: made, sent: result.sent }, "settlement: batches sent");
    const paid = (await deps.debts?.()) ?? 0;
    if (paid) deps.logger.info({ debts: paid }, "settlement: debts paid from the clients' new deposits");
    const slashed = (await deps.slashes?.()) ?? 0;
    if (slashed) deps.logger.info({ slashed }, "slashes sent");
  };
  const tick = () => {
    if (running || clock().getTime() < notBefore) return;
    running = true;
    pass()
      .then(() => (failures = 0))
      .catch((err) => {
        failures++;
        const waitMs = retryDelayMs(failures, deps.intervalMs, deps.maxBackoffMs ?? 300_000);
        notBefore = clock().getTime() + waitMs;
        const reason = err instanceof SettlementRetry ? err.failure.reason : classifyChainError(err).reason;
        const batchId = err instanceof SettlementRetry ? err.batchId?.toString() : undefined;
        deps.logger.warn({ err: err instanceof SettlementRetry ? err.cause : err, reason, batchId, failures, retryInMs: waitMs }, "settlement: pass stopped; retrying with backoff");
      })
      .finally(() => (running = false));
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  return {
    pass,
    kick: () => setImmediate(tick),
    async stop() {
      clearInterval(timer);
    },
  };
}

/**
 * Sends the slashes the marketplace decided (the rule in assignment.service.ts) to Staking.slash with the slasher's
 * key, oldest first. One the contract refuses (e.g. over its cap after a withdrawal) is marked FAILED with why; a
 * retryable failure (the node, the slasher's gas money) leaves it PENDING and stops here, to be tried next pass.
 */
export async function sendSlashes(db: DataSource, provider: JsonRpcProvider, staking: string, wallet: Signer, logger: Logger): Promise<number> {
  const rows: { id: string; address: string; amount_wei: string; reason: string }[] = await db.query(
    `SELECT s.id, a.address, s.amount_wei, s.reason FROM slashes s JOIN accounts a ON a.id = s.provider_id WHERE s.status = 'PENDING' ORDER BY s.created_at`,
  );
  const contract = stakingAt(staking, wallet);
  let sent = 0;
  for (const r of rows) {
    try {
      const nonce = await nextNonce(provider, await wallet.getAddress());
      const receipt = await (await contract.getFunction("slash")(r.address, BigInt(r.amount_wei), r.reason, { nonce })).wait(1, TX_WAIT_MS);
      await db.query(`UPDATE slashes SET status = 'SENT', tx_hash = $2 WHERE id = $1`, [r.id, receipt?.hash ?? null]);
      sent++;
    } catch (err) {
      const failure = classifyChainError(err);
      if (failure.retryable) throw err;
      logger.warn({ err, provider: r.address, reason: failure.reason }, "slash refused by the chain");
      await db.query(`UPDATE slashes SET status = 'FAILED', error = $2 WHERE id = $1`, [r.id, failure.reason.slice(0, 500)]);
    }
  }
  return sent;
}

/**
 * What each account's escrow must keep on chain, for the accounts where it differs from the figure last sent: its
 * holds plus its charges not yet settled on chain (unbatched, or in a batch not confirmed), but no more than its
 * balance on chain as mirrored (deposits less settled charges): the contract clamps a hold to the balance, and a
 * hold sent before a deposit would otherwise be clamped and never sent again (after a chain reset, say). The charges
 * are reached through the unsettled index and the open batches, not by scanning every charge ever made. Charges in an
 * open debt are left out: the chain already keeps the debt from being withdrawn (free = balance - held - debt), and
 * the cap is then the balance less the debt (spent counts them, the chain's balance does not).
 */
export async function holdsToSync(db: Pick<DataSource, "query">): Promise<{ account_id: string; address: string; desired: string }[]> {
  return db.query(
    `WITH unsettled AS (
       SELECT client_id, sum(amount_wei) AS wei FROM (
         SELECT c.client_id, c.amount_wei FROM charges c WHERE c.settlement_batch IS NULL
         UNION ALL
         SELECT c.client_id, c.amount_wei FROM settlements s JOIN charges c ON c.settlement_batch = s.batch_id
          WHERE s.status IN ('PENDING', 'SUBMITTED', 'FAILED')
       ) u GROUP BY client_id),
     wanted AS (
       SELECT b.account_id, b.chain_held_wei,
              least(b.held_wei + coalesce(u.wei, 0), greatest(b.deposited_wei - b.spent_wei + coalesce(u.wei, 0), 0)) AS desired
         FROM escrow_balances b LEFT JOIN unsettled u ON u.client_id = b.account_id)
     SELECT w.account_id, a.address, w.desired::text AS desired
       FROM wanted w JOIN accounts a ON a.id = w.account_id
      WHERE w.chain_held_wei <> w.desired`,
  );
}

/**
 * Mirrors the marketplace's holds on chain (Escrow.setHolds, in batches of 200), so a client cannot withdraw what
 * running or unsettled work may still be charged: on chain, held = held for jobs + charges not yet settled. Only
 * accounts whose figure changed since the last send (or that a reorg or chain reset undid) are sent.
 */
export async function syncHolds(db: DataSource, provider: JsonRpcProvider, escrow: string, wallet: Signer): Promise<number> {
  const changed = await holdsToSync(db);
  if (changed.length === 0) return 0;
  const contract = escrowAt(escrow, wallet);
  for (let i = 0; i < changed.length; i += 200) {
    const chunk = changed.slice(i, i + 200);
    const nonce = await nextNonce(provider, await wallet.getAddress());
    await (await contract.getFunction("setHolds")(chunk.map((r) => r.address), chunk.map((r) => BigInt(r.desired)), { nonce })).wait(1, TX_WAIT_MS);
    for (const r of chunk) await db.query(`UPDATE escrow_balances SET chain_held_wei = $2 WHERE account_id = $1`, [r.account_id, r.desired]);
  }
  return changed.length;
}

/**
 * Pays the open settlement debts (DebtRecorded without a DebtPaid, as indexed) whose client's free balance on chain
 * (balance - held) now covers them, oldest first, with Escrow.payDebt (open to anyone; the arguments are the
 * DebtRecorded's). A payment the chain refuses (the balance moved since it was read) is logged and left for the next
 * pass; a retryable failure stops here. Returns how many were paid.
 */
export async function payDebts(db: DataSource, provider: JsonRpcProvider, escrow: string, wallet: Signer, logger: Logger): Promise<number> {
  const rows: { args: { debtId: string; batchId: string; client: string; amount: string; providers: string[]; credits: string[] } }[] = await db.query(
    `SELECT r.args FROM chain_events r WHERE r.address = $1 AND r.name = 'DebtRecorded'
        AND NOT EXISTS (SELECT 1 FROM chain_events p WHERE p.chain_id = r.chain_id AND p.address = r.address AND p.name = 'DebtPaid' AND p.args->>'debtId' = r.args->>'debtId')
      ORDER BY r.block_number, r.log_index`,
    [escrow.toLowerCase()],
  );
  if (rows.length === 0) return 0;
  const contract = escrowAt(escrow, wallet);
  let paid = 0;
  for (const { args: d } of rows) {
    const [balance, held] = (await Promise.all([contract.getFunction("balanceOf")(d.client), contract.getFunction("heldOf")(d.client)])) as bigint[];
    if (balance - held < BigInt(d.amount)) continue;
    try {
      const nonce = await nextNonce(provider, await wallet.getAddress());
      await (await contract.getFunction("payDebt")(BigInt(d.debtId), BigInt(d.batchId), d.client, BigInt(d.amount), d.providers, d.credits.map(BigInt), { nonce })).wait(1, TX_WAIT_MS);
      paid++;
    } catch (err) {
      const failure = classifyChainError(decodeRevert(err, contract.interface));
      if (failure.retryable) throw err;
      logger.warn({ debtId: d.debtId, client: d.client, reason: failure.reason }, "settlement: a debt payment was refused by the chain; tried again next pass");
    }
  }
  return paid;
}
