import { randomBytes } from "node:crypto";
import type { HDNodeWallet } from "ethers";
import { creditEscrow } from "../db/repositories/escrow.repository";
import { op } from "./contract";
import { gql, signIn, type TestServer } from "./harness";

const WEI = 10n ** 18n;
let modelSeq = 0;
/** Jest reloads this module for every test file while a worker's database lives on: names must differ across files. */
const RUN = randomBytes(3).toString("hex").toUpperCase();

/** A GPU model of its own (and so a market of its own), so tests do not see each other's offers. */
export function freshModel(vramGb = 48): { model: string; market: string; gpu: (count: number) => { model: string; vramGb: number; count: number } } {
  modelSeq += 1;
  const model = `TST${RUN}J${modelSeq}`;
  return { model, market: `${model}-${vramGb}GB`, gpu: (count) => ({ model: `NVIDIA ${model}`, vramGb, count }) };
}

export interface Actor {
  token: string;
  wallet: HDNodeWallet;
  accountId: string;
}

/** Signs in a new wallet; with `escrowOgpu`, credits that much escrow (as the indexer would from a deposit). */
export async function actor(server: TestServer, escrowOgpu?: bigint): Promise<Actor> {
  const { token, wallet } = await signIn(server.url);
  const [row] = await server.system.db.query(`SELECT id FROM accounts WHERE address = $1`, [wallet.address.toLowerCase()]);
  if (escrowOgpu !== undefined) await creditEscrow(server.system.db, row.id, escrowOgpu * WEI);
  return { token, wallet, accountId: row.id };
}

/** Registers an online node (one heartbeat) with `gpus` and posts one offer of `offerGpus` at `price`. */
export async function onlineOffer(server: TestServer, provider: Actor, gpus: { model: string; vramGb: number; count: number }, price: string, offerGpus = gpus.count, region = "eu-central", name = `rig-${++modelSeq}`) {
  const node = await gql(server.url, op("RegisterNode"), { input: { name, region, gpus: [gpus] } }, provider.token);
  if (node.errors) throw new Error(JSON.stringify(node.errors));
  const nodeId = node.data!.registerNode.id as string;
  const hb = await gql(server.url, op("Heartbeat"), { nodeId }, provider.token);
  if (hb.errors) throw new Error(JSON.stringify(hb.errors));
  const offer = await gql(server.url, op("PostOffer"), { input: { nodeId, pricePerGpuHour: price, gpuCount: offerGpus } }, provider.token);
  if (offer.errors) throw new Error(JSON.stringify(offer.errors));
  return { nodeId, offerId: offer.data!.postOffer.id as string };
}

/** A SubmitJobInput for one market's model, with overrides. */
export function jobInput(model: string, requirements: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    kind: "INFERENCE",
    image: "ghcr.io/example/infer:1",
    command: ["python", "serve.py"],
    requirements: { gpuCount: 1, minVramGb: 40, gpuModels: [model], maxPricePerGpuHour: "3", maxDurationSeconds: 3600, ...requirements },
    ...extra,
  };
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
