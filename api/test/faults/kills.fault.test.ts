import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from "./processes";

jest.setTimeout(180_000);

const ROOT = join(__dirname, "..", "..", "..");
const JOBS = 200;
const GPUS = 3 * 64;

let pg: PostgresServer;
let redis: RedisServer;
let api: TestServer;
const prefix = `gxk${randomBytes(3).toString("hex")}`;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  api = await startTestServer({ DATABASE_URL: pg.url("gx_kills"), REDIS_URL: redis.url, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: "0" }, { api: true, worker: false });
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
  await api?.stop();
  await Promise.all([pg?.destroy(), redis?.stop()]);
});

/** A worker process of its own (`api/bin/worker.ts`), as production runs it, on this test's Postgres, Redis and prefix. */
function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", join(ROOT, "api/bin/worker.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: "test", DATABASE_URL: pg.url("gx_kills"), REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: "warn", RECONCILE_MS: "500", RESTING_RETRY_MS: "1000", MATCH_LOCK_MS: "2000", MATCH_BATCH_SIZE: "8", FAILOVER_SILENCE_SECONDS: "0" },
    stdio: "ignore",
  });
  workers.push(child);
  return child;
}

it("a worker SIGKILLed while it places 200 jobs loses none and oversells nothing: the next worker places the rest", async () => {
  const m = freshModel();
  const provider: Actor = await actor(api);
  for (let i = 0; i < 3; i++) await onlineOffer(api, provider, m.gpu(64), "2", 64);
  const client = await actor(api, 100_000n);
  const db = api.system.db;
  const first = startWorker();
  const submitting = Promise.all(
    Array.from({ length: JOBS }, async () => {
      const r = await gql(api.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "3", maxDurationSeconds: 600 }) }, client.token);
      expect(r.errors).toBeUndefined();
      return r.data!.submitJob.id as string;
    }),
  );
  // killed mid-work, while the jobs are still being submitted (so it lands mid-run however fast placement is):
  // once it has placed some of them, not all
  await eventually(async () => {
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1 AND status = 'MATCHED'`, [client.accountId]);
    return n > 0 ? n : undefined;
  }, 60_000, "the first worker to place jobs");
  first.kill("SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  const [{ placedBefore }] = await db.query(`SELECT count(*)::int AS "placedBefore" FROM jobs WHERE client_id = $1 AND status = 'MATCHED'`, [client.accountId]);
  const submitted = await submitting;
  startWorker();

  // every job is placed, or rests with the reason it could not be: there are GPUS GPUs for JOBS one-GPU jobs
  const outcome = await eventually(async () => {
    const rows: { status: string; resting: boolean; excluded: unknown; n: number }[] = await db.query(
      `SELECT status, resting, excluded IS NOT NULL AS excluded, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY 1, 2, 3`,
      [submitted],
    );
    const matched = rows.filter((r) => r.status === "MATCHED").reduce((a, r) => a + r.n, 0);
    const resting = rows.filter((r) => r.status === "PENDING" && r.resting && r.excluded).reduce((a, r) => a + r.n, 0);
    return matched + resting === JOBS ? { matched, resting } : undefined;
  }, 90_000, "every job matched or resting with reasons");
  expect(placedBefore).toBeLessThan(GPUS);
  expect(outcome).toEqual({ matched: GPUS, resting: JOBS - GPUS });
  // no GPU sold twice: each offer's free GPUs are its size less its live assignments, and no job holds two
  const offers: { gpu_count: number; available_gpus: number; live: number }[] = await db.query(
    `SELECT o.gpu_count, o.available_gpus, (SELECT coalesce(sum(gpus), 0)::int FROM assignments a WHERE a.offer_id = o.id AND a.status IN ('ASSIGNED', 'RUNNING')) AS live
       FROM offers o WHERE o.provider_id = $1`,
    [provider.accountId],
  );
  for (const o of offers) expect([o.available_gpus, o.gpu_count - o.live]).toEqual([0, 0]);
  const [{ doubled }] = await db.query(
    `SELECT count(*)::int AS doubled FROM (SELECT job_id FROM assignments WHERE job_id = ANY($1::uuid[]) AND status IN ('ASSIGNED', 'RUNNING') GROUP BY job_id HAVING count(*) > 1) d`,
    [submitted],
  );
  expect(doubled).toBe(0);
});
