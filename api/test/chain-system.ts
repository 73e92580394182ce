import { createHash } from "node:crypto";
import { MaxUint256, Wallet, parseUnits } from "ethers";
import { escrowAt, tokenAt } from "../../contracts";
import type { DevChain } from "../../contracts/dev-chain";
import { eventually, type Actor } from "./builders";
import { op } from "./contract";
import { gql, signIn, type TestServer } from "./harness";

export const OGPU = 10n ** 18n;
export const wei = (ogpu: string) => parseUnits(ogpu, 18);
export const sha = (t: string) => createHash("sha256").update(t).digest("hex");

/**
 * What the system tests on the in-process chain do again and again (the server runs api, worker and indexer with its
 * dev chain): the contracts' addresses, signed-in wallets with escrow deposits mirrored, providers' offers, a run to
 * completion, a provider's earnings.
 */
export function chainSystem(server: () => TestServer) {
  const chain = (): DevChain => server().system.devChain!;

  async function contracts(): Promise<Record<string, string>> {
    const status = await gql(server().url, op("IndexerStatus"));
    return Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  }

  async function escrowShown(token: string) {
    const r = await gql(server().url, `query { me { escrow { deposited held available withdrawing debt } } }`, {}, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.me.escrow as { deposited: string; held: string; available: string; withdrawing: string; debt: string };
  }

  /** Dev account `index` signed in, its token approved to the escrow, with `deposit` OGPU in escrow as the API mirrors it. */
  async function walletClient(index: number, deposit: bigint) {
    const { escrow: escrowAddress, token: tokenAddress } = await contracts();
    const wallet = new Wallet(chain().accounts[index].privateKey, chain().provider);
    const { token } = await signIn(server().url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
    const escrow = escrowAt(escrowAddress, wallet);
    const nonce = () => chain().provider.getTransactionCount(wallet.address, "latest");
    const send = async (call: (n: { nonce: number }) => Promise<{ wait: () => Promise<unknown> }>) => (await call({ nonce: await nonce() })).wait();
    await send((o) => tokenAt(tokenAddress, wallet).approve(escrowAddress, MaxUint256, o));
    const client = { token, wallet, escrow, send, shown: () => escrowShown(token) };
    if (deposit > 0n) await depositMirrored(client, deposit);
    return client;
  }

  async function depositMirrored(c: Awaited<ReturnType<typeof walletClient>>, amount: bigint): Promise<void> {
    const before = BigInt(await c.escrow.balanceOf(c.wallet.address));
    await c.send((o) => c.escrow.deposit(amount, o));
    await eventually(async () => (wei((await c.shown()).deposited) === before + amount ? true : undefined), 20_000, "the deposit mirrored");
  }

  /** An online node with one GPU offered at `price` (36) OGPU per GPU-hour, billed at least 60 s. */
  async function offer(provider: Actor, gpu: { model: string; vramGb: number; count: number }, price = "36"): Promise<string> {
    const node = await gql(server().url, op("RegisterNode"), { input: { name: `rig-${Math.random()}`, region: "eu-central", gpus: [gpu] } }, provider.token);
    const nodeId = node.data!.registerNode.id as string;
    await gql(server().url, op("Heartbeat"), { nodeId }, provider.token);
    const posted = await gql(server().url, op("PostOffer"), { input: { nodeId, pricePerGpuHour: price, gpuCount: 1, minDurationSeconds: 60 } }, provider.token);
    if (posted.errors) throw new Error(JSON.stringify(posted.errors));
    return nodeId;
  }

  /** Takes the node's next assignment, starts and completes it. */
  async function runToCompletion(provider: Actor, nodeId: string): Promise<void> {
    const a = await eventually(async () => (await gql(server().url, op("PendingAssignments"), { nodeId }, provider.token)).data!.assignments[0] as { id: string } | undefined, 20_000, "the assignment");
    await gql(server().url, op("StartAssignment"), { id: a.id }, provider.token);
    const done = await gql(server().url, op("CompleteAssignment"), { id: a.id, resultHash: sha(a.id) }, provider.token);
    expect(done.data!.completeAssignment.job.status).toBe("COMPLETED");
  }

  const earnings = async (p: Actor) => {
    const nodes = (await gql(server().url, op("MyNodes"), {}, p.token)).data!.myNodes as { earnings: { settled: string; pending: string } }[];
    return { settled: nodes.reduce((t, n) => t + wei(n.earnings.settled), 0n), pending: nodes.reduce((t, n) => t + wei(n.earnings.pending), 0n) };
  };

  return { chain, contracts, walletClient, depositMirrored, escrowShown, offer, runToCompletion, earnings };
}
