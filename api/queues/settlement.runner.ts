import { Wallet, type JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { escrowAt, nextNonce, stakingAt } from "../../contracts";
import type { SettlementService, SettlementWriter } from "../services/settlement.service";

/** Escrow.settle through ethers with the settler's key; nonces asked of the node (one sender). */
export function ethersSettlementWriter(provider: JsonRpcProvider, escrow: string, privateKey: string): SettlementWriter {
  const wallet = new Wallet(privateKey, provider);
  const contract = escrowAt(escrow, wallet);
  return {
    async isSettled(batchId) {
      return Boolean(await contract.getFunction("isSettled")(batchId));
    },
    async settle(b) {
      const nonce = await nextNonce(provider, wallet.address);
      const tx = await contract.getFunction("settle")(b.batchId, b.merkleRoot, b.jobCount, b.clients, b.debits, b.providers, b.credits, { nonce });
      const receipt = await tx.wait();
      if (!receipt || receipt.status !== 1) throw new Error(`settle of batch ${b.batchId} reverted`);
      return { txHash: receipt.hash, blockNumber: BigInt(receipt.blockNumber), gasUsed: BigInt(receipt.gasUsed) };
    },
  };
}

/** Every `intervalMs`: gathers due charges into batches, then sends the open ones. One pass at a time. */
export function startSettlement(deps: {
  service: SettlementService;
  writer: SettlementWriter;
  intervalMs: number;
  logger: Logger;
  slashes?: () => Promise<number>;
  holds?: () => Promise<number>;
}) {
  let running = false;
  const pass = async () => {
    let made = 0;
    while ((await deps.service.gather()) !== undefined) made++;
    const sent = await deps.service.submit(deps.writer);
    if (made || sent) deps.logger.info({ batches: made, sent }, "settlement: batches sent");
    await deps.holds?.();
    const slashed = (await deps.slashes?.()) ?? 0;
    if (slashed) deps.logger.info({ slashed }, "slashes sent");
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pass()
      .catch((err) => deps.logger.warn({ err }, "settlement: pass failed; trying again"))
      .finally(() => (running = false));
  }, deps.intervalMs);
  timer.unref();
  return {
    pass,
    async stop() {
      clearInterval(timer);
    },
  };
}

/**
 * Sends the slashes the marketplace decided (the rule in assignment.service.ts) to Staking.slash with the slasher's
 * key, oldest first; one that reverts (e.g. over the contract's cap after a withdrawal) is marked FAILED with why.
 */
export async function sendSlashes(db: DataSource, provider: JsonRpcProvider, staking: string, privateKey: string, logger: Logger): Promise<number> {
  const rows: { id: string; address: string; amount_wei: string; reason: string }[] = await db.query(
    `SELECT s.id, a.address, s.amount_wei, s.reason FROM slashes s JOIN accounts a ON a.id = s.provider_id WHERE s.status = 'PENDING' ORDER BY s.created_at`,
  );
  const wallet = new Wallet(privateKey, provider);
  const contract = stakingAt(staking, wallet);
  let sent = 0;
  for (const r of rows) {
    try {
      const nonce = await nextNonce(provider, wallet.address);
      const receipt = await (await contract.getFunction("slash")(r.address, BigInt(r.amount_wei), r.reason, { nonce })).wait();
      await db.query(`UPDATE slashes SET status = 'SENT', tx_hash = $2 WHERE id = $1`, [r.id, receipt?.hash ?? null]);
      sent++;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ err, provider: r.address }, "slash not sent");
      await db.query(`UPDATE slashes SET status = 'FAILED', error = $2 WHERE id = $1`, [r.id, message.slice(0, 500)]);
    }
  }
  return sent;
}

/**
 * What each account's escrow must keep on chain, for the accounts where it differs from the figure last sent: its
 * holds plus its charges not yet settled on chain (unbatched, or in a batch not confirmed). The charges are reached
 * through the unsettled index and the open batches, not by scanning every charge ever made.
 */
export async function holdsToSync(db: Pick<DataSource, "query">): Promise<{ account_id: string; address: string; desired: string }[]> {
  return db.query(
    `WITH unsettled AS (
       SELECT client_id, sum(amount_wei) AS wei FROM (
         SELECT c.client_id, c.amount_wei FROM charges c WHERE c.settlement_batch IS NULL
         UNION ALL
         SELECT c.client_id, c.amount_wei FROM settlements s JOIN charges c ON c.settlement_batch = s.batch_id
          WHERE s.status IN ('PENDING', 'SUBMITTED', 'FAILED')
       ) u GROUP BY client_id)
     SELECT b.account_id, a.address, (b.held_wei + coalesce(u.wei, 0))::text AS desired
       FROM escrow_balances b JOIN accounts a ON a.id = b.account_id LEFT JOIN unsettled u ON u.client_id = b.account_id
      WHERE b.chain_held_wei <> b.held_wei + coalesce(u.wei, 0)`,
  );
}

/**
 * Mirrors the marketplace's holds on chain (Escrow.setHolds, in batches of 200), so a client cannot withdraw what
 * running or unsettled work may still be charged: on chain, held = held for jobs + charges not yet settled. Only
 * accounts whose figure changed since the last send are sent.
 */
export async function syncHolds(db: DataSource, provider: JsonRpcProvider, escrow: string, privateKey: string): Promise<number> {
  const changed = await holdsToSync(db);
  if (changed.length === 0) return 0;
  const wallet = new Wallet(privateKey, provider);
  const contract = escrowAt(escrow, wallet);
  for (let i = 0; i < changed.length; i += 200) {
    const chunk = changed.slice(i, i + 200);
    const nonce = await nextNonce(provider, wallet.address);
    await (await contract.getFunction("setHolds")(chunk.map((r) => r.address), chunk.map((r) => BigInt(r.desired)), { nonce })).wait();
    for (const r of chunk) await db.query(`UPDATE escrow_balances SET chain_held_wei = $2 WHERE account_id = $1`, [r.account_id, r.desired]);
  }
  return changed.length;
}
