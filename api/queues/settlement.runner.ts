import { Wallet, type JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import { escrowAt } from "../../contracts";
import type { SettlementService, SettlementWriter } from "../services/settlement.service";

/** Escrow.settle through ethers with the settler's key; nonces taken from the latest block (one sender). */
export function ethersSettlementWriter(provider: JsonRpcProvider, escrow: string, privateKey: string): SettlementWriter {
  const wallet = new Wallet(privateKey, provider);
  const contract = escrowAt(escrow, wallet);
  return {
    async isSettled(batchId) {
      return Boolean(await contract.getFunction("isSettled")(batchId));
    },
    async settle(b) {
      const nonce = await provider.getTransactionCount(wallet.address, "latest");
      const tx = await contract.getFunction("settle")(b.batchId, b.merkleRoot, b.jobCount, b.clients, b.debits, b.providers, b.credits, { nonce });
      const receipt = await tx.wait();
      if (!receipt || receipt.status !== 1) throw new Error(`settle of batch ${b.batchId} reverted`);
      return { txHash: receipt.hash, blockNumber: BigInt(receipt.blockNumber), gasUsed: BigInt(receipt.gasUsed) };
    },
  };
}

/** Every `intervalMs`: gathers due charges into batches, then sends the open ones. One pass at a time. */
export function startSettlement(deps: { service: SettlementService; writer: SettlementWriter; intervalMs: number; logger: Logger }) {
  let running = false;
  const pass = async () => {
    let made = 0;
    while ((await deps.service.gather()) !== undefined) made++;
    const sent = await deps.service.submit(deps.writer);
    if (made || sent) deps.logger.info({ batches: made, sent }, "settlement: batches sent");
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
