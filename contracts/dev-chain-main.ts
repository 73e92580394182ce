/**
 * The dev chain as a process of its own (docker compose's `chain` service): an in-process Hardhat EVM on
 * CHAIN_HOST:CHAIN_PORT (0.0.0.0:8545) with the contracts deployed and the test mnemonic's accounts funded.
 * On a fresh chain the addresses are always the same (printed), so the other services can be configured with them.
 */
import { deployDevContracts, depositDevTreasury, DEV_MNEMONIC, DEV_TREASURY_INDEX, startDevChain } from "./dev-chain";

async function main(): Promise<void> {
  const port = Number(process.env.CHAIN_PORT ?? 8545);
  const host = process.env.CHAIN_HOST ?? "0.0.0.0";
  const chain = await startDevChain({ port, host });
  const d = await deployDevContracts(chain);
  const treasury = await depositDevTreasury(chain, d);
  const lines = [
    `dev chain on ${host}:${port}, chain id ${chain.chainId}: token ${d.token}, escrow ${d.escrow}, staking ${d.staking}, deployed at block ${d.deploymentBlock}`,
    `accounts of "${DEV_MNEMONIC}" (publicly known private keys: for testing only; 1,000,000 OGPU each):`,
    ...chain.accounts.slice(0, 20).map((a, i) => `  #${i} ${a.address} ${a.privateKey}`),
    `#${DEV_TREASURY_INDEX} ${treasury} is the relay's OGPU treasury (500,000 OGPU in escrow): RELAY_TREASURY_ADDRESS`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const stop = () => void chain.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`dev chain failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
