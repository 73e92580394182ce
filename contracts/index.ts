import { Contract, ContractFactory, ZeroHash, id } from "ethers";
import type { ContractRunner, InterfaceAbi, JsonRpcProvider, Signer } from "ethers";
import escrowArtifact from "./artifacts/Escrow.json";
import tokenArtifact from "./artifacts/OGPUToken.json";
import stakingArtifact from "./artifacts/Staking.json";

export type ContractName = "OGPUToken" | "Escrow" | "Staking";

/** A compiled contract as contracts/compile.ts writes it. */
export interface Artifact {
  contractName: ContractName;
  abi: InterfaceAbi;
  /** 0x-prefixed creation bytecode. */
  bytecode: string;
}

const ARTIFACTS: Record<ContractName, Artifact> = {
  OGPUToken: tokenArtifact as Artifact,
  Escrow: escrowArtifact as Artifact,
  Staking: stakingArtifact as Artifact,
};

/** Role ids (bytes32) as the contracts define them. */
export const ROLES = {
  DEFAULT_ADMIN_ROLE: ZeroHash,
  MINTER_ROLE: id("MINTER_ROLE"),
  SETTLER_ROLE: id("SETTLER_ROLE"),
  PAUSER_ROLE: id("PAUSER_ROLE"),
  SLASHER_ROLE: id("SLASHER_ROLE"),
} as const;

/** Staking's usual unbonding delay: 7 days, in seconds. */
export const DEFAULT_UNBONDING_SECONDS = 7 * 24 * 60 * 60;

/**
 * Escrow's usual withdrawal delay: 1 hour, in seconds. It must be comfortably longer than the marketplace takes to
 * mirror a new job's hold on chain (the indexer seeing the request, then a settlement pass sending setHolds, with
 * its retries and backoff), so that money a job was matched on cannot leave before it is held.
 */
export const DEFAULT_WITHDRAW_DELAY_SECONDS = 60 * 60;

/** OGPU has 18 decimals: 1 OGPU = 10^18 base units (wei). */
export const OGPU_DECIMALS = 18;

export function artifactOf(name: ContractName): Artifact {
  return ARTIFACTS[name];
}

export function abiOf(name: ContractName): InterfaceAbi {
  return ARTIFACTS[name].abi;
}

/**
 * The nonce for `address`'s next transaction, asked of the node itself. Not `provider.getTransactionCount`: ethers
 * answers a repeated call from its cache for 250 ms by default, so a second transaction sent soon after a first
 * gets the first's nonce ("nonce too low"). "pending" also counts a sent transaction not yet mined.
 */
export async function nextNonce(provider: JsonRpcProvider, address: string): Promise<number> {
  return Number(BigInt(await provider.send("eth_getTransactionCount", [address, "pending"])));
}

export function tokenAt(address: string, runner?: ContractRunner | null): Contract {
  return new Contract(address, abiOf("OGPUToken"), runner);
}

export function escrowAt(address: string, runner?: ContractRunner | null): Contract {
  return new Contract(address, abiOf("Escrow"), runner);
}

export function stakingAt(address: string, runner?: ContractRunner | null): Contract {
  return new Contract(address, abiOf("Staking"), runner);
}

export interface DeployOptions {
  /** Receives slashed stake. */
  treasury: string;
  /** Receives protocol fees (as escrow claimable balance). */
  feeRecipient: string;
  /** Granted Escrow's SETTLER_ROLE (setHolds, settle). */
  settler: string;
  /** Granted Staking's SLASHER_ROLE. */
  slasher: string;
  /** Staking's unbonding delay in seconds; DEFAULT_UNBONDING_SECONDS when absent. */
  unbondingSeconds?: number | bigint;
  /** Escrow's withdrawal delay in seconds; DEFAULT_WITHDRAW_DELAY_SECONDS when absent. */
  withdrawDelaySeconds?: number | bigint;
  /**
   * Escrow's challenge window in seconds (credits claimable only after it; batches challengeable during it);
   * 0 (no window) when absent.
   */
  challengeWindowSeconds?: number | bigint;
  /** An existing OGPU token (the real chains); a fresh OGPUToken is deployed when absent. */
  token?: string;
}

export interface Deployment {
  chainId: bigint;
  token: string;
  escrow: string;
  staking: string;
  /** Whether `token` was deployed here (the signer then holds its MINTER_ROLE). */
  tokenDeployed: boolean;
  /** The block of the first deployment transaction: where an indexer starts. */
  deploymentBlock: number;
}

async function deploy(signer: Signer, name: ContractName, args: unknown[]): Promise<{ address: string; block: number }> {
  const { abi, bytecode } = artifactOf(name);
  const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
  const receipt = await contract.deploymentTransaction()?.wait();
  if (receipt == null || receipt.status !== 1) throw new Error(`deploying ${name} failed`);
  return { address: await contract.getAddress(), block: receipt.blockNumber };
}

async function send(call: Promise<{ wait: () => Promise<unknown> }>): Promise<void> {
  await (await call).wait();
}

/**
 * Deploys the token (unless `opts.token` is given), Escrow and Staking with `signer` as admin
 * (DEFAULT_ADMIN_ROLE and PAUSER_ROLE on both), and grants SETTLER_ROLE and SLASHER_ROLE.
 * Transactions are sent one after another, each waited for.
 */
export async function deployAll(signer: Signer, opts: DeployOptions): Promise<Deployment> {
  const admin = await signer.getAddress();
  const provider = signer.provider;
  if (provider == null) throw new Error("deployAll needs a signer connected to a provider");
  const { chainId } = await provider.getNetwork();
  const blocks: number[] = [];

  let token = opts.token;
  if (token === undefined) {
    const deployed = await deploy(signer, "OGPUToken", [admin]);
    token = deployed.address;
    blocks.push(deployed.block);
  }
  const escrow = await deploy(signer, "Escrow", [
    token,
    admin,
    opts.feeRecipient,
    BigInt(opts.withdrawDelaySeconds ?? DEFAULT_WITHDRAW_DELAY_SECONDS),
    BigInt(opts.challengeWindowSeconds ?? 0),
  ]);
  const staking = await deploy(signer, "Staking", [
    token,
    admin,
    opts.treasury,
    BigInt(opts.unbondingSeconds ?? DEFAULT_UNBONDING_SECONDS),
  ]);
  blocks.push(escrow.block, staking.block);

  await send(escrowAt(escrow.address, signer).getFunction("grantRole")(ROLES.SETTLER_ROLE, opts.settler));
  await send(stakingAt(staking.address, signer).getFunction("grantRole")(ROLES.SLASHER_ROLE, opts.slasher));

  return {
    chainId,
    token,
    escrow: escrow.address,
    staking: staking.address,
    tokenDeployed: opts.token === undefined,
    deploymentBlock: Math.min(...blocks),
  };
}

/** Mints `amountWei` to each address; `token` must be connected to a MINTER_ROLE signer. */
export async function fundAccounts(token: Contract, addresses: readonly string[], amountWei: bigint): Promise<void> {
  for (const address of addresses) {
    await send(token.getFunction("mint")(address, amountWei));
  }
}
