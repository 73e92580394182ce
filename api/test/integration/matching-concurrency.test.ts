import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { actor, eventually, freshModel, inPool, jobInput, onlineOffer, retryingConnection, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { gql, startTestServer, type TestServer } from "../harness";

// deadlines against a hang, not measurements: on a loaded 2-core machine the run takes minutes
jest.setTimeout(600_000);

const ROOT = join(__dirname, "..", "..", "..");
const JOBS = 1000;
const PROVIDERS = 10;
const NODES_PER_PROVIDER = 3;
const GPUS_PER_OFFER = 10; // 10 x 3 x 10 = 300 GPUs for sale

/**
 * Nodes online and leases held for the whole run, however long a loaded machine makes it: the nodes beat once at
 * set-up, and with the defaults (60 s) a run of minutes saw them offline and their assignments expired.
 */
const STEADY = { HEARTBEAT_WINDOW_SECONDS: "3600", LEASE_SECONDS: "3600" };

let api: TestServer;
let prefix: string;
let dbUrl: string;
const workers: ChildProcess[] = [];

/** A worker process of its own (`api/bin/worker.ts`), as production runs them. */
function startWorker(name: string): ChildProcess {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", join(ROOT, "api/bin/worker.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: dbUrl,
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      QUEUE_PREFIX: prefix,
      MATCH_LOCK_MS: "1500",
      RECONCILE_MS: "500",
      MATCH_CONCURRENCY: "8",
      // the nodes beat once at set-up: their work is taken over only when a lease lapses
      FAILOVER_SILENCE_SECONDS: "0",
      ...STEADY,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  child.stdout!.on("data", (d) => log.push(String(d)));
  child.stderr!.on("data", (d) => log.push(String(d)));
  child.on("exit", (code, signal) => {
    if (code && code !== 0) process.stderr.write(`worker ${name} exited ${code} ${signal ?? ""}\n${log.join("").slice(-4000)}\n`);
  });
  workers.push(child);
  return child;
}

beforeAll(async () => {
  prefix = `gxc${process.pid}${Date.now() % 10000}`;
  // a database of its own: the book's bids would also show resting jobs that earlier test files left in a shared one
  dbUrl = await privateDatabaseUrl("matching");
  api = await startTestServer({ QUEUE_PREFIX: prefix, DATABASE_URL: dbUrl, ...STEADY }, { api: true, worker: false });
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
  await api.stop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await api.system.db.query(sql, params);
  return Number(row.n);
}

it("two workers place 1,000 concurrent jobs on room for 300 GPUs: no oversell, no double match, the rest PENDING with reasons, through a killed worker", async () => {
  const m = freshModel(80);
  for (let p = 0; p < PROVIDERS; p++) {
    const provider = await actor(api);
    for (let n = 0; n < NODES_PER_PROVIDER; n++) {
      await onlineOffer(api, provider, m.gpu(GPUS_PER_OFFER), `${2 + (p * NODES_PER_PROVIDER + n) / 100}`, GPUS_PER_OFFER, ["eu-central", "us-east", "ap-northeast"][n]);
    }
  }
  const clients: Actor[] = [];
  for (let c = 0; c < 20; c++) clients.push(await actor(api, 10_000n));
  const first = startWorker("A");
  startWorker("B");

  // the kill watches while the jobs are still being submitted, so it lands mid-run however fast matching is
  const tried = () => count(`SELECT count(*) AS n FROM jobs WHERE client_id = ANY($1) AND match_attempted_at IS NOT NULL`, [clients.map((c) => c.accountId)]);
  const killed = (async () => {
    await eventually(async () => ((await tried()) >= 150 ? true : undefined), 300_000, "matching under way");
    first.kill("SIGKILL");
    return tried();
  })();
  // 1,000 submits at once through 32 connections (a bounded client pool); one that failed at the connection is sent
  // again with its idempotency key, so a repeat of one the server did take returns that job, never a second one
  const submitted = await inPool(
    32,
    Array.from({ length: JOBS }, (_, i) => () =>
      retryingConnection(() =>
        gql(api.url, op("SubmitJob"), { input: jobInput(m.model, { gpuCount: 1, minVramGb: 80, maxPricePerGpuHour: "3", maxDurationSeconds: 600 }, { idempotencyKey: `burst-${i}` }) }, clients[i % clients.length].token),
      ),
    ),
  );
  expect(submitted.filter((r) => r.errors)).toEqual([]);
  const jobIds = submitted.map((r) => r.data!.submitJob.id as string);
  expect(new Set(jobIds).size).toBe(JOBS);

  const triedAtKill = await killed;
  expect(triedAtKill).toBeLessThan(JOBS); // the kill lands mid-run
  startWorker("C");

  await eventually(
    async () => ((await count(`SELECT count(*) AS n FROM jobs WHERE id = ANY($1) AND status = 'PENDING' AND NOT resting`, [jobIds])) === 0 ? true : undefined),
    300_000,
    "every job tried",
  );

  const matched = await count(`SELECT count(*) AS n FROM jobs WHERE id = ANY($1) AND status = 'MATCHED'`, [jobIds]);
  const assignedGpus = await count(`SELECT coalesce(sum(a.gpus), 0) AS n FROM assignments a WHERE a.job_id = ANY($1) AND a.status = 'ASSIGNED'`, [jobIds]);
  expect(assignedGpus).toBe(300);
  expect(matched).toBe(300);
  expect(await count(`SELECT count(*) AS n FROM (SELECT job_id FROM assignments WHERE job_id = ANY($1) GROUP BY job_id HAVING count(*) > 1) d`, [jobIds])).toBe(0);
  expect(await count(`SELECT count(*) AS n FROM trades WHERE job_id = ANY($1)`, [jobIds])).toBe(300);
  // every offer: GPUs in use equal the GPUs assigned on it, never more than it offered
  const offers: { gpu_count: number; available_gpus: number; assigned: string }[] = await api.system.db.query(
    `SELECT o.gpu_count, o.available_gpus, (SELECT coalesce(sum(gpus), 0) FROM assignments a WHERE a.offer_id = o.id AND a.status = 'ASSIGNED') AS assigned
       FROM offers o WHERE o.market = $1`,
    [m.market],
  );
  expect(offers).toHaveLength(PROVIDERS * NODES_PER_PROVIDER);
  for (const o of offers) {
    expect(o.available_gpus).toBe(0);
    expect(Number(o.assigned)).toBe(o.gpu_count - o.available_gpus);
  }
  const resting: { excluded: { reason: string; offers: number }[] }[] = await api.system.db.query(
    `SELECT excluded FROM jobs WHERE id = ANY($1) AND status = 'PENDING' AND resting`,
    [jobIds],
  );
  expect(resting).toHaveLength(JOBS - 300);
  for (const r of resting) expect(r.excluded).toEqual(expect.arrayContaining([expect.objectContaining({ reason: "GPU_COUNT", offers: PROVIDERS * NODES_PER_PROVIDER })]));
  // holds: one per job, none released twice
  const held = await api.system.db.query(`SELECT coalesce(sum(held_wei), 0) AS n FROM escrow_balances WHERE account_id = ANY($1)`, [clients.map((c) => c.accountId)]);
  expect(BigInt(held[0].n)).toBe(BigInt(JOBS) * 5n * 10n ** 17n);
  // the book agrees, and its deltas are gapless
  const book = await gql(api.url, op("OrderBook"), { market: m.market, depth: 500 });
  expect(book.data!.orderBook.asks).toEqual([]);
  expect(book.data!.orderBook.bids).toEqual([{ price: "3", gpus: JOBS - 300, orders: JOBS - 300 }]);
  const sequences: { seq: string }[] = await api.system.db.query(`SELECT payload->>'sequence' AS seq FROM outbox WHERE topic = 'book.delta' AND payload->>'market' = $1`, [m.market]);
  const sorted = sequences.map((s) => Number(s.seq)).sort((a, b) => a - b);
  expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, i) => i + 1));
  expect(String(sorted.length)).toBe(book.data!.orderBook.sequence);
});
