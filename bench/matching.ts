/**
 * `node dist/bench/matching.js`: production matching measured end to end, with the candidate source chosen by
 * MATCHING_CANDIDATES (the offer index read model, `index`, beside the old SQL candidate query, `sql`) in the same run.
 * For each book size (1k and 100k open offers seeded into Postgres) and each source: a fresh database, the api and
 * one worker process as production runs them, 20 wallets submitting over GraphQL at a paced BENCH_MATCH_RATE jobs/s
 * (open loop) for BENCH_MATCH_SECONDS, then as fast as the API takes them (closed loop, 64 in flight). Latency is the
 * server's own: jobs.matched_at - jobs.created_at. Writes the section `matching-production` of BENCHMARKS.md.
 *
 * Environment: BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), REDIS_URL, BENCH_MATCH_RATE (500),
 * BENCH_MATCH_SECONDS (6), BENCH_MATCH_SIZES (1000,100000), BENCH_MATCH_MODES (sql,index), BENCH_OUTPUT (BENCHMARKS.md; - for none).
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { Client } from "pg";
import { freePort, gql, signIn, SUBMIT_JOB } from "./client";
import { envInt } from "./env";
import { seedBook } from "./matching-seed";
import { startProcess, waitReady, type ServerProcess } from "./processes";
import { writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const settings = {
  pgUrl: (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, ""),
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  rate: envInt("BENCH_MATCH_RATE", 500),
  seconds: envInt("BENCH_MATCH_SECONDS", 6),
  sizes: (process.env.BENCH_MATCH_SIZES ?? "1000,100000").split(",").map(Number),
  modes: (process.env.BENCH_MATCH_MODES ?? "sql,index").split(","),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
const DB = "gx_bench_match";
const CLIENTS = 20;
const SATURATED_IN_FLIGHT = 64;
const WARM_UP_JOBS = 300;
const PACED_IN_FLIGHT = 128;
const DRAIN_WAIT_MS = 180_000;
const JOB = { kind: "INFERENCE", image: "bench/job:1", requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["A100"], maxPricePerGpuHour: "2", maxDurationSeconds: 600 } };

interface Submitted {
  ids: string[];
  failed: number;
  perS: number;
  p99Ms: number;
}

interface Settled {
  matchedPerS: number;
  p50Ms: number;
  p99Ms: number;
  unmatched: number;
  firstMatchedMs: number;
}

interface Row {
  offers: number;
  mode: string;
  /** The API alone (no worker running): jobs submitted as fast as it takes them. */
  backlog: Submitted;
  /** The worker alone, on that backlog: from its first match to its last. */
  drain: Settled;
  /** From the worker's start to its first match (its offer index loads first). */
  startS: number;
  pacedSubmit: Submitted;
  paced: Settled;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${settings.pgUrl}/postgres` });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** Submits `count` jobs, paced at `rate` a second (0: as fast as `inFlight` allow). */
async function submit(url: string, tokens: string[], count: number, rate: number, inFlight: number): Promise<Submitted> {
  const submitMs: number[] = [];
  const ids: string[] = [];
  const started = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        if (rate > 0) {
          const wait = started + (i * 1000) / rate - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const t0 = performance.now();
        // a connection the server closed as idle can fail one request (ECONNRESET): counted as not submitted
        const r = await gql(url, SUBMIT_JOB, { input: JOB }, tokens[i % tokens.length]).catch(() => undefined);
        submitMs.push(performance.now() - t0);
        const id = (r?.data?.submitJob as { id: string } | undefined)?.id;
        if (id) ids.push(id);
        else failed++;
      }
    }),
  );
  submitMs.sort((a, b) => a - b);
  return { ids, perS: ids.length / ((performance.now() - started) / 1000), p99Ms: percentile(submitMs, 99), failed };
}

/** Waits (at most `waitMs`) until none of these jobs is PENDING; matched/s over `from` (ms, or the first create) to the last match. */
async function settle(pg: Client, ids: string[], waitMs: number, from?: "first-match"): Promise<Settled> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && (await pg.query(`SELECT 1 FROM jobs WHERE id = ANY($1) AND status = 'PENDING' AND NOT resting LIMIT 1`, [ids])).rowCount) await sleep(100);
  const { rows } = await pg.query(`SELECT extract(epoch FROM created_at) * 1000 AS c, extract(epoch FROM matched_at) * 1000 AS m FROM jobs WHERE id = ANY($1)`, [ids]);
  const matched = rows.filter((r) => r.m !== null);
  const lat = matched.map((r) => Number(r.m) - Number(r.c)).sort((a, b) => a - b);
  const firstMatchedMs = Math.min(...matched.map((r) => Number(r.m)));
  const first = from === "first-match" ? firstMatchedMs : Math.min(...rows.map((r) => Number(r.c)));
  const lastMatched = Math.max(...matched.map((r) => Number(r.m)));
  return { matchedPerS: matched.length / ((lastMatched - first) / 1000), p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), unmatched: ids.length - matched.length, firstMatchedMs };
}

async function scenario(offers: number, mode: string): Promise<Row> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: `${settings.pgUrl}/${DB}`,
    REDIS_URL: settings.redisUrl,
    QUEUE_PREFIX: `gxbm${randomBytes(3).toString("hex")}`,
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: randomBytes(32).toString("hex"),
    RATE_LIMIT_PER_MINUTE: "0",
    FAILOVER_SILENCE_SECONDS: "0",
    HEARTBEAT_WINDOW_SECONDS: "3600",
    PUBLIC_URL: `http://localhost:${port}`,
    MATCHING_CANDIDATES: mode,
  };
  const procs: ServerProcess[] = [];
  const pg = new Client({ connectionString: `${settings.pgUrl}/${DB}` });
  try {
    const api = startProcess("api.js", env);
    procs.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, api);
    await pg.connect();
    const count = settings.rate * settings.seconds;
    const gpus = await seedBook(pg, offers);
    if (gpus < 2 * count + WARM_UP_JOBS) throw new Error(`the book has ${gpus} usable GPUs; the run needs ${2 * count + WARM_UP_JOBS}`);
    const url = `${base}/graphql`;
    const wallets = Array.from({ length: CLIENTS }, () => Wallet.createRandom());
    const tokens = await Promise.all(wallets.map((w) => signIn(url, w)));
    await pg.query(
      `INSERT INTO escrow_balances (account_id, deposited_wei) SELECT id, 10::numeric ^ 27 FROM accounts WHERE address = ANY($1)
       ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei`,
      [wallets.map((w) => w.address.toLowerCase())],
    );
    await submit(url, tokens, WARM_UP_JOBS, 0, SATURATED_IN_FLIGHT);
    const backlog = await submit(url, tokens, count, 0, SATURATED_IN_FLIGHT);
    const workerStarted = Date.now();
    procs.push(startProcess("worker.js", env));
    const drain = await settle(pg, backlog.ids, DRAIN_WAIT_MS, "first-match");
    const startS = (drain.firstMatchedMs - workerStarted) / 1000;
    await settle(pg, (await pg.query(`SELECT id FROM jobs`)).rows.map((r) => r.id), DRAIN_WAIT_MS);
    const pacedSubmit = await submit(url, tokens, count, settings.rate, PACED_IN_FLIGHT);
    const paced = await settle(pg, pacedSubmit.ids, DRAIN_WAIT_MS);
    return { offers, mode, backlog, drain, startS, pacedSubmit, paced };
  } finally {
    await pg.end().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-");

function report(rows: Row[], when: Date): string {
  const line = (r: Row) =>
    `| ${fmt(r.offers)} | ${r.mode} | ${fmt(r.backlog.perS)} | ${fmt(r.drain.matchedPerS)} | ${fmt(r.startS, 1)} | ${fmt(r.pacedSubmit.perS)} | ${fmt(r.pacedSubmit.p99Ms, 1)} | ${fmt(r.paced.matchedPerS)} | ${fmt(r.paced.p50Ms, 1)} | ${fmt(r.paced.p99Ms, 1)} | ${r.drain.unmatched + r.paced.unmatched} | ${r.backlog.failed + r.pacedSubmit.failed} |`;
  return [
    "## Production matching: offer index read model vs SQL candidates (bench/matching.ts)",
    "",
    `Run on ${when.toISOString()} by \`node dist/bench/matching.js\`; ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version},` +
      ` load average ${os.loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end (a shared machine); Postgres, Redis, the api process, one worker process and the load generator on it.`,
    "",
    "Each row: a fresh database with that many open offers seeded (4 markets, 16 regions, one node each, 64 GPUs, asks 1.000-2.999 OGPU), the api process",
    `and 20 wallets submitting 1-GPU A100 jobs (cap 2 OGPU) over GraphQL. **API alone**: ${settings.rate * settings.seconds} jobs submitted as fast as the API takes them`,
    `(${SATURATED_IN_FLIGHT} in flight) with no worker running, after ${WARM_UP_JOBS} warm-up jobs. **Matching alone**: then one worker process starts`,
    "(MATCHING_CANDIDATES as shown) and places that backlog; jobs/s from its first match to its last; *start* is worker start to first match",
    `(the index loads first). **Paced**: then ${settings.rate} jobs/s open loop for ${settings.seconds} s, as many as the API takes (${PACED_IN_FLIGHT} in flight), with the worker`,
    "running: submitted/s, and submit -> matched from the server's own timestamps (jobs.matched_at - jobs.created_at), matched/s over first create to last match.",
    "",
    "| offers | candidates | API alone, submits/s | matching alone, jobs/s | start s | paced: submitted/s | submit p99 ms | matched/s | matched p50 ms | matched p99 ms | unmatched | submits failed |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(line),
  ].join("\n");
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const offers of settings.sizes) {
    for (const mode of settings.modes) {
      const row = await scenario(offers, mode);
      console.error(`bench: ${JSON.stringify(row, (key, value) => (key === "ids" ? value.length : value))}`);
      rows.push(row);
    }
  }
  const text = report(rows, new Date());
  console.log(text);
  if (settings.output !== "-") writeSections(settings.output, [["matching-production", text]]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
