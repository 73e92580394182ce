import { randomBytes } from "node:crypto";
import type { HDNodeWallet } from "ethers";
import { creditEscrow } from "../db/repositories/escrow.repository";
import { op } from "./contract";
import { gql, signIn, type TestServer } from "./harness";

const WEI = 10n ** 18n;
let modelSeq = 0;
/** Jest reloads this module for every test file; names differ across files too (servers of several files may share Redis). */
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

type Queryable = { query: (sql: string, params?: unknown[]) => Promise<any> };

/** The account id of `address`, creating the account on first sight. */
export async function accountOf(db: Queryable, address: string): Promise<string> {
  const [row] = await db.query(`INSERT INTO accounts (address) VALUES ($1) ON CONFLICT (address) DO UPDATE SET address = excluded.address RETURNING id`, [address.toLowerCase()]);
  return row.id as string;
}

/**
 * A completed job's unbatched charge of `amountWei` from `client` to `provider`, written straight to the database (its
 * node, offer, job and assignment included), with the client's escrow counting it spent, as a job's end does. The job id.
 */
export async function insertCharge(db: Queryable, client: string, provider: string, amountWei: bigint): Promise<string> {
  const [clientId, providerId] = [await accountOf(db, client), await accountOf(db, provider)];
  await db.query(`INSERT INTO markets (id, gpu_model, vram_gb) VALUES ('CS-80GB', 'CS', 80) ON CONFLICT DO NOTHING`);
  const [node] = await db.query(`INSERT INTO nodes (provider_id, name, region, gpus) VALUES ($1, $2, 'eu-central', '[]') RETURNING id`, [providerId, `n-${Math.random()}`]);
  const [offer] = await db.query(
    `INSERT INTO offers (node_id, provider_id, market, gpu_model, vram_gb, region, price_wei, gpu_count, available_gpus) VALUES ($1, $2, 'CS-80GB', 'CS', 80, 'eu-central', 1, 8, 8) RETURNING id`,
    [node.id, providerId],
  );
  const [job] = await db.query(
    `INSERT INTO jobs (client_id, kind, gpu_count, min_vram_gb, max_price_wei, max_duration_seconds, redundancy, strategy, request_hash, hold_wei, status)
     VALUES ($1, 'OTHER', 1, 80, 1, 60, 1, 'BALANCED', repeat('0', 64), 0, 'COMPLETED') RETURNING id`,
    [clientId],
  );
  const [a] = await db.query(
    `INSERT INTO assignments (job_id, offer_id, node_id, provider_id, replica, attempt, gpus, price_wei, status, result_hash) VALUES ($1, $2, $3, $4, 0, 1, 1, 1, 'COMPLETED', repeat('a', 64)) RETURNING id`,
    [job.id, offer.id, node.id, providerId],
  );
  await db.query(`INSERT INTO charges (job_id, assignment_id, client_id, provider_id, amount_wei, run_seconds) VALUES ($1, $2, $3, $4, $5, 10)`, [job.id, a.id, clientId, providerId, amountWei.toString()]);
  await db.query(`UPDATE escrow_balances SET spent_wei = spent_wei + $2 WHERE account_id = $1`, [clientId, amountWei.toString()]);
  return job.id as string;
}

/**
 * Runs `tasks` through a pool of `size` clients, as a client with a bounded connection pool does: all are started at
 * once and at most `size` are in flight (a thousand sockets opened at once overflow a loaded server's accept queue and
 * are reset before any request reaches it). Results in the order of `tasks`.
 */
export async function inPool<T>(size: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const client = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, client));
  return results;
}

/**
 * Calls `send` again when the request failed at the connection (fetch's "fetch failed": refused, or reset, as when a
 * kept-alive socket the server has just closed is reused), up to `attempts` times. Only for requests that are safe to repeat (reads, or writes with an
 * idempotency key): a request the server did run answers the same again.
 */
export async function retryingConnection<T>(send: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      // by name, not instanceof: fetch's TypeError is of Node's realm, not of the test's
      const connection = (err as Error | undefined)?.name === "TypeError" && (err as Error).message === "fetch failed";
      if (!connection || attempt >= attempts) throw err;
    }
  }
}
