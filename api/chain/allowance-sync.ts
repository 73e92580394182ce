import type { JsonRpcProvider } from "ethers";
import type { DataSource } from "typeorm";
import { escrowAt } from "../../contracts";
import { allowancesToRead, escrowWindow, saveAllowance, saveChainTime, saveEscrowWindow } from "../db/repositories/allowance.repository";

/**
 * Mirrors what covers unsigned jobs on a windowed escrow, for the API's admission (JobOrderService.coverUnsigned):
 * the escrow's challenge window, read once (it is fixed at deployment), and the spending allowance of every client
 * with an allowance event (Escrow.allowanceOf, at the head), read again after a new allowance event or a settled
 * batch the indexer mirrored since its last read; and, on a windowed escrow, the chain's time (the latest block's
 * timestamp), by which the API tells credits still in their window from claimable ones. Returns how many allowances
 * were read.
 */
export async function syncAllowances(db: DataSource, provider: JsonRpcProvider, scope: { chainId: bigint; escrow: string }): Promise<number> {
  const escrow = escrowAt(scope.escrow, provider);
  let window = await escrowWindow(db, scope);
  if (window === undefined) {
    window = BigInt(await escrow.getFunction("challengeWindow")());
    await saveEscrowWindow(db, scope, window);
  }
  if (window > 0n) {
    const head = await provider.getBlock("latest");
    if (head) await saveChainTime(db, scope, BigInt(head.timestamp));
  }
  const clients = await allowancesToRead(db, scope);
  if (clients.length === 0) return 0;
  const block = BigInt(await provider.getBlockNumber());
  for (const client of clients) {
    const [amount, until, nextAmount, nextUntil, nextAt] = (await escrow.getFunction("allowanceOf")(client, { blockTag: Number(block) })) as bigint[];
    const next = BigInt(nextAt) === 0n ? null : { amountWei: BigInt(nextAmount), until: BigInt(nextUntil), at: BigInt(nextAt) };
    await saveAllowance(db, scope, client, { amountWei: BigInt(amount), until: BigInt(until), next, readBlock: block });
  }
  return clients.length;
}
