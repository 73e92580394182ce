import { getAddress, type JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import type { Config } from "../config";
import { createRpcProvider } from "../../contracts/rpc";
import type { ChainHealth } from "../../indexer";
import { chainProbe } from "../http/health";

import type { DevChain } from "../../contracts/dev-chain";

type DevChainModule = typeof import("../../contracts/dev-chain");
/** The dev chain's module, loaded only by a process that runs the in-process EVM (hardhat is heavy to load). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const devChainModule = (): DevChainModule => require("../../contracts/dev-chain");

export interface ChainSide {
  dev?: DevChain;
  /** The dev chain's relay treasury (account #19, with escrow deposited). */
  devTreasury?: string;
  /** Its key (the public test mnemonic's #19): the relay signs its jobs' orders with it in dev. */
  devTreasuryKey?: string;
  chainId: bigint;
  provider: JsonRpcProvider;
  /** The node's WebSocket endpoint, for new heads (CHAIN_WS_URL, or the dev chain's). */
  wsUrl?: string;
  escrow: string;
  staking: string;
  startBlock: bigint;
  contracts: { name: string; address: string }[];
  stop: () => Promise<void>;
}

export function configuredContracts(config: Config): { name: string; address: string }[] {
  const named: [string, string | undefined][] = [["token", config.TOKEN_ADDRESS], ["escrow", config.ESCROW_ADDRESS], ["staking", config.STAKING_ADDRESS]];
  return named.filter((c): c is [string, string] => c[1] !== undefined).map(([name, address]) => ({ name, address: getAddress(address) }));
}

/**
 * The chain this process follows: CHAIN_RPC_URL with the configured contracts, or else an in-process dev EVM on
 * 127.0.0.1:CHAIN_PORT with the contracts deployed and the test mnemonic's accounts funded (printed for wallets).
 */
export async function connectChain(config: Config, logger: Logger): Promise<ChainSide> {
  if (config.CHAIN_RPC_URL) {
    const provider = createRpcProvider(config.CHAIN_RPC_URL, config.CHAIN_ID, { timeoutMs: config.CHAIN_RPC_TIMEOUT_MS, retries: config.CHAIN_RPC_RETRIES });
    return {
      chainId: config.CHAIN_ID,
      provider,
      wsUrl: config.CHAIN_WS_URL,
      escrow: config.ESCROW_ADDRESS!,
      staking: config.STAKING_ADDRESS!,
      startBlock: config.CHAIN_START_BLOCK,
      contracts: configuredContracts(config),
      stop: async () => provider.destroy(),
    };
  }
  const { startDevChain, deployDevContracts, depositDevTreasury, DEV_TREASURY_INDEX } = devChainModule();
  const dev = await startDevChain({ port: config.CHAIN_PORT, chainId: Number(config.CHAIN_ID) });
  const deployment = await deployDevContracts(dev, { challengeWindowSeconds: config.DEV_CHALLENGE_WINDOW_SECONDS });
  const devTreasury = await depositDevTreasury(dev, deployment);
  const contracts = [
    { name: "token", address: deployment.token },
    { name: "escrow", address: deployment.escrow },
    { name: "staking", address: deployment.staking },
  ];
  logger.info({ rpc: dev.url, chainId: dev.chainId, contracts }, "dev chain: in-process EVM with the contracts deployed");
  printDevAccounts(dev, contracts, devChainModule());
  return {
    dev,
    devTreasury,
    devTreasuryKey: dev.accounts[DEV_TREASURY_INDEX].privateKey,
    chainId: BigInt(dev.chainId),
    provider: dev.provider,
    wsUrl: config.CHAIN_WS_URL ?? dev.url.replace(/^http/, "ws"),
    escrow: deployment.escrow,
    staking: deployment.staking,
    startBlock: BigInt(deployment.deploymentBlock),
    contracts,
    stop: () => dev.stop(),
  };
}

/** The dev chain's funded accounts (the public Hardhat test mnemonic), for wallets, agents and tests. */
function printDevAccounts(dev: DevChain, contracts: { name: string; address: string }[], { DEV_MNEMONIC, DEV_TREASURY_INDEX }: DevChainModule): void {
  const lines = [
    `Dev chain: JSON-RPC ${dev.url}, chain id ${dev.chainId}. ${contracts.map((c) => `${c.name} ${c.address}`).join(", ")}`,
    `Accounts of the test mnemonic "${DEV_MNEMONIC}" (10,000 ETH and 1,000,000 OGPU each; public keys, never use them elsewhere):`,
    ...dev.accounts.slice(0, 20).map((a, i) => `  #${i} ${a.address} ${a.privateKey}`),
    `#${DEV_TREASURY_INDEX} is the relay's OGPU treasury (500,000 OGPU in escrow; set RELAY_TREASURY_ADDRESS to use another).`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** The chain node's readiness check, from what this process's calls found (asked directly before any). */
export function chainProbeFor(provider: JsonRpcProvider | undefined, health: ChainHealth) {
  if (!provider) return undefined;
  const ask = async () => {
    try {
      health.ok(BigInt(await provider.getBlockNumber()));
    } catch (err) {
      health.failed(err);
    }
  };
  return { chain: chainProbe(() => health.view(), ask) };
}

