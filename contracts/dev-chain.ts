import { HDNodeWallet, Mnemonic, Wallet, parseUnits, toQuantity, type JsonRpcProvider } from "ethers";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { createHardhatNetworkProvider } from "hardhat/internal/hardhat-network/provider/provider";
import { deployAll, escrowAt, fundAccounts, tokenAt } from "./index";
import { createRpcProvider } from "./rpc";
import type { Deployment } from "./index";

export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevChainOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  mnemonic?: string;
  chainId?: number;
  /** How many accounts to derive from the mnemonic (m/44'/60'/0'/0/i) and fund with 10,000 ETH. */
  accounts?: number;
}

export interface DevAccount {
  address: string;
  privateKey: string;
}

export interface DevChain {
  url: string;
  port: number;
  chainId: number;
  provider: JsonRpcProvider;
  accounts: DevAccount[];
  /** A wallet for account `index`, connected to `provider`. */
  signer(index: number): Wallet;
  /** evm_snapshot: an id for `revert`. */
  snapshot(): Promise<string>;
  /** evm_revert: back to the snapshot, which is consumed (take a new one to revert there again). */
  revert(id: string): Promise<boolean>;
  /** Mines `blocks` empty blocks at once (hardhat_mine). */
  mine(blocks?: number): Promise<void>;
  /** Moves the clock `seconds` forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

const ACCOUNT_BALANCE_WEI = parseUnits("10000", 18);
const BLOCK_GAS_LIMIT = 30_000_000;

export function deriveAccounts(mnemonic: string, count: number): DevAccount[] {
  const phrase = Mnemonic.fromPhrase(mnemonic);
  return Array.from({ length: count }, (_, i) => {
    const wallet = HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${i}`);
    return { address: wallet.address, privateKey: wallet.privateKey };
  });
}

/**
 * Starts an in-process Hardhat 2 network (EDR; hardfork cancun, automine) behind a JSON-RPC HTTP
 * server on host:port. Needs no hardhat.config: the network provider is built directly.
 */
export async function startDevChain(options: DevChainOptions): Promise<DevChain> {
  const host = options.host ?? "127.0.0.1";
  const chainId = options.chainId ?? 31337;
  const accounts = deriveAccounts(options.mnemonic ?? DEV_MNEMONIC, options.accounts ?? 20);

  const network = await createHardhatNetworkProvider(
    {
      hardfork: "cancun",
      chainId,
      networkId: chainId,
      blockGasLimit: BLOCK_GAS_LIMIT,
      minGasPrice: 0n,
      automine: true,
      intervalMining: 0,
      mempoolOrder: "priority",
      chains: new Map(),
      genesisAccounts: accounts.map((a) => ({ privateKey: a.privateKey, balance: ACCOUNT_BALANCE_WEI })),
      allowUnlimitedContractSize: false,
      throwOnTransactionFailures: true,
      throwOnCallFailures: true,
      allowBlocksWithSameTimestamp: false,
      enableTransientStorage: false,
      enableRip7212: false,
    },
    { enabled: false },
  );
  const server = new JsonRpcServer({ hostname: host, port: options.port, provider: network });
  const { port } = await server.listen();
  const url = `http://${host}:${port}`;
  const provider = createRpcProvider(url, chainId, { pollingIntervalMs: 50 });

  const request = (method: string, params: unknown[] = []) => provider.send(method, params);
  return {
    url,
    port,
    chainId,
    provider,
    accounts,
    signer: (index) => {
      const account = accounts[index];
      if (account === undefined) throw new Error(`dev chain has no account ${index}`);
      return new Wallet(account.privateKey, provider);
    },
    snapshot: async () => (await request("evm_snapshot")) as string,
    revert: async (id) => (await request("evm_revert", [id])) as boolean,
    mine: async (blocks = 1) => {
      await request("hardhat_mine", [toQuantity(blocks)]);
    },
    increaseTime: async (seconds) => {
      await request("evm_increaseTime", [seconds]);
      await request("evm_mine");
    },
    stop: async () => {
      provider.destroy();
      await server.close();
    },
  };
}

/**
 * The dev chain's Escrow withdrawal delay: 60 s, a dozen of the default settlement passes (SETTLEMENT_INTERVAL_MS,
 * 5 s) that mirror holds, and short enough to try withdrawals by hand (tests move the chain's clock instead).
 */
export const DEV_WITHDRAW_DELAY_SECONDS = 60;

/** 1,000,000 OGPU in wei. */
export const DEV_FUNDING_WEI = parseUnits("1000000", 18);

/**
 * Deploys the token, Escrow (withdrawal delay DEV_WITHDRAW_DELAY_SECONDS) and Staking with account #0 as admin,
 * settler, slasher, treasury and fee recipient, and mints DEV_FUNDING_WEI to each of the chain's first 20 accounts.
 */
export async function deployDevContracts(chain: DevChain, opts: { challengeWindowSeconds?: number } = {}): Promise<Deployment> {
  const admin = chain.signer(0);
  const deployment = await deployAll(admin, {
    treasury: admin.address,
    feeRecipient: admin.address,
    settler: admin.address,
    slasher: admin.address,
    withdrawDelaySeconds: DEV_WITHDRAW_DELAY_SECONDS,
    challengeWindowSeconds: opts.challengeWindowSeconds ?? 0,
  });
  await fundAccounts(
    tokenAt(deployment.token, admin),
    chain.accounts.slice(0, 20).map((a) => a.address),
    DEV_FUNDING_WEI,
  );
  return deployment;
}

/** The dev account whose escrow funds relay jobs in OGPU (the relay's treasury), and what it deposits. */
export const DEV_TREASURY_INDEX = 19;
export const DEV_TREASURY_DEPOSIT_WEI = parseUnits("500000", 18);

/** Account #19 approves and deposits DEV_TREASURY_DEPOSIT_WEI into the escrow: the relay's OGPU treasury in dev. */
export async function depositDevTreasury(chain: DevChain, deployment: Deployment): Promise<string> {
  const treasury = chain.signer(DEV_TREASURY_INDEX);
  let nonce = await chain.provider.getTransactionCount(treasury.address, "latest");
  await (await tokenAt(deployment.token, treasury).approve(deployment.escrow, DEV_TREASURY_DEPOSIT_WEI, { nonce: nonce++ })).wait();
  await (await escrowAt(deployment.escrow, treasury).deposit(DEV_TREASURY_DEPOSIT_WEI, { nonce })).wait();
  return treasury.address;
}
