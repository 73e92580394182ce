import { Interface, JsonRpcSigner } from "ethers";
import type { Contract, ContractTransactionReceipt, Log } from "ethers";
import { deployDevContracts, startDevChain } from "./dev-chain";
import type { DevChain } from "./dev-chain";
import { encodeLine } from "./batch";
import { abiOf, escrowAt, stakingAt, tokenAt } from "./index";
import type { Deployment } from "./index";

/** A dev chain with the contracts deployed (account #0 holds every role), for tests and benchmarks. */
export interface ContractsFixture {
  chain: DevChain;
  deployment: Deployment;
  /** Signers that let the node sign (eth_sendTransaction): fewer round trips than a local Wallet. */
  admin: JsonRpcSigner;
  signer(index: number): JsonRpcSigner;
  token(index?: number): Contract;
  escrow(index?: number): Contract;
  staking(index?: number): Contract;
  /** Back to the state right after deployment (and a fresh snapshot for the next reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** `challengeWindowSeconds`: the escrow's challenge window (0, none, by default). */
export async function startContractsFixture(opts: { challengeWindowSeconds?: number } = {}): Promise<ContractsFixture> {
  const chain = await startDevChain({ port: 0 });
  try {
    const deployment = await deployDevContracts(chain, opts);
    let snapshotId = await chain.snapshot();
    const signers = chain.accounts.map((a) => new JsonRpcSigner(chain.provider, a.address));
    const signer = (index: number) => {
      const s = signers[index];
      if (s === undefined) throw new Error(`no account ${index}`);
      return s;
    };
    return {
      chain,
      deployment,
      admin: signer(0),
      signer,
      token: (index = 0) => tokenAt(deployment.token, signer(index)),
      escrow: (index = 0) => escrowAt(deployment.escrow, signer(index)),
      staking: (index = 0) => stakingAt(deployment.staking, signer(index)),
      reset: async () => {
        if (!(await chain.revert(snapshotId))) throw new Error("evm_revert failed");
        snapshotId = await chain.snapshot();
      },
      stop: () => chain.stop(),
    };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

/** Sends a transaction and waits for its receipt. */
export async function mined(call: Promise<unknown>): Promise<{ gasUsed: bigint; blockNumber: number }> {
  const tx = (await call) as { wait: () => Promise<{ gasUsed: bigint; blockNumber: number } | null> };
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt;
}

/** Signer `index` approves the escrow for `amount` and deposits it. */
export async function depositFrom(f: ContractsFixture, index: number, amount: bigint): Promise<void> {
  await mined(f.token(index).approve(f.deployment.escrow, amount));
  await mined(f.escrow(index).deposit(amount));
}

const INTERFACES = (["OGPUToken", "Escrow", "Staking"] as const).map((name) => new Interface(abiOf(name)));

export interface Revert {
  /** The custom error's name, or the error's message when it is not one of the contracts' errors. */
  name: string;
  args: unknown[];
}

/** How a call or transaction reverted, decoded with the contracts' ABIs; name "(no revert)" when it did not. */
export async function revertOf(call: Promise<unknown>): Promise<Revert> {
  try {
    await call;
  } catch (err) {
    const e = err as { data?: string; revert?: { name?: string; args?: unknown[] }; shortMessage?: string; message?: string };
    if (typeof e.data === "string" && e.data.length >= 10) {
      for (const iface of INTERFACES) {
        const parsed = iface.parseError(e.data);
        if (parsed !== null) return { name: parsed.name, args: [...parsed.args] };
      }
    }
    return { name: e.revert?.name ?? e.shortMessage ?? e.message ?? String(err), args: [...(e.revert?.args ?? [])] };
  }
  return { name: "(no revert)", args: [] };
}

export async function revertName(call: Promise<unknown>): Promise<string> {
  return (await revertOf(call)).name;
}

/** Sends a transaction and returns the events `contract` emitted in it (name and args), in log order. */
export async function eventsOf(call: Promise<unknown>, contract: Contract): Promise<{ name: string; args: unknown[] }[]> {
  const tx = (await call) as { wait: () => Promise<ContractTransactionReceipt | null> };
  const receipt = await tx.wait();
  return (receipt?.logs ?? []).flatMap((log: Log) => {
    const parsed = contract.interface.parseLog(log);
    return parsed === null ? [] : [{ name: parsed.name, args: [...parsed.args].map(plainArg) }];
  });
}

/** ethers' Result (an array argument of an event) as a plain array, so tests compare it with toEqual. */
function plainArg(value: unknown): unknown {
  return Array.isArray(value) ? [...value].map(plainArg) : value;
}

/** A hand-made Escrow.settle `Batch` tuple; `lines` as [clientIndex, providerIndex, amount] (encodeLine). */
export function batchTuple(
  batchId: bigint,
  merkleRoot: string,
  jobCount: number,
  clients: string[],
  debits: bigint[],
  providers: string[],
  credits: bigint[],
  lines: [number, number, bigint][] = [],
) {
  return { batchId, merkleRoot, jobCount, clients, debits, providers, credits, lines: lines.map(([c, p, a]) => encodeLine(c, p, a)), allowanceBits: [] as bigint[], nonceMarks: [] as bigint[] };
}
