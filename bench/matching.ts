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
const WARM_UP_JOBS = 600;
const JOB = { kind: "INFERENCE", image: "bench/job:1", requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["A100"], maxPricePerGpuHour: "2", maxDurationSeconds: 600 } };

interface Phase {
  jobs: number;
  submitPerS: number;
  submitP99Ms: number;
  matchedPerS: number;
  matchedP50Ms: number;
  matchedP99Ms: number;
  unmatched: number;
}

interface Row {
  offers: number;
  mode: string;
  paced: Phase;
  saturated: Phase;
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

/** Submits `count` jobs, paced at `rate` a second (0: as fast as `inFlight` allow), and measures until none is PENDING. */
async function phase(url: string, pg: Client, tokens: string[], count: number, rate: number, inFlight: number): Promise<Phase> {
  const submitMs: number[] = [];
  const ids: string[] = [];
  const started = performance.now();
  let next = 0;
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
        const r = await gql(url, SUBMIT_JOB, { input: JOB }, tokens[i % tokens.length]);
        submitMs.push(performance.now() - t0);
        const id = (r.data?.submitJob as { id: string } | undefined)?.id;
        if (id) ids.push(id);
      }
    }),
  );
  const deadline = Date.now() + 120_000;
  while ((await pg.query(`SELECT 1 FROM jobs WHERE id = ANY($1) AND status = 'PENDING' AND NOT resting LIMIT 1`, [ids])).rowCount) {
    if (Date.now() > deadline) throw new Error("jobs still PENDING after 120 s");
    await sleep(100);
  }
  const { rows } = await pg.query(`SELECT extract(epoch FROM created_at) * 1000 AS c, extract(epoch FROM matched_at) * 1000 AS m FROM jobs WHERE id = ANY($1)`, [ids]);
  const matched = rows.filter((r) => r.m !== null);
  const lat = matched.map((r) => Number(r.m) - Number(r.c)).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => Number(r.c)));
  const lastCreated = Math.max(...rows.map((r) => Number(r.c)));
  const lastMatched = Math.max(...matched.map((r) => Number(r.m)));
  submitMs.sort((a, b) => a - b);
  return {
    jobs: ids.length,
    submitPerS: ids.length / ((lastCreated - first) / 1000),
    submitP99Ms: percentile(submitMs, 99),
    matchedPerS: matched.length / ((lastMatched - first) / 1000),
    matchedP50Ms: percentile(lat, 50),
    matchedP99Ms: percentile(lat, 99),
    unmatched: count - matched.length,
  };
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
    const gpus = await seedBook(pg, offers);
    const needed = settings.rate * settings.seconds * 2 + WARM_UP_JOBS;
    if (gpus < needed) throw new Error(`the book has ${gpus} usable GPUs; the run needs ${needed}`);
    const loadStarted = Date.now();
    procs.push(startProcess("worker.js", env));
    const url = `${base}/graphql`;
    const wallets = Array.from({ length: CLIENTS }, () => Wallet.createRandom());
    const tokens = await Promise.all(wallets.map((w) => signIn(url, w)));
    await pg.query(
      `INSERT INTO escrow_balances (account_id, deposited_wei) SELECT id, 10::numeric ^ 27 FROM accounts WHERE address = ANY($1)
       ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei`,
      [wallets.map((w) => w.address.toLowerCase())],
    );
    // the worker is up when a first job is matched; then a warm-up (JIT, pools) that is not measured
    await phase(url, pg, tokens, 1, 0, 1);
    console.error(`bench: ${mode} with ${offers} offers: worker matching after ${Date.now() - loadStarted} ms`);
    await phase(url, pg, tokens, WARM_UP_JOBS, 0, SATURATED_IN_FLIGHT);
    const count = settings.rate * settings.seconds;
    const paced = await phase(url, pg, tokens, count, settings.rate, 256);
    const saturated = await phase(url, pg, tokens, count, 0, SATURATED_IN_FLIGHT);
    return { offers, mode, paced, saturated };
  } finally {
    await pg.end().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-");

function report(rows: Row[], when: Date): string {
  const line = (r: Row, p: Phase, what: string) =>
    `| ${fmt(r.offers)} | ${r.mode} | ${what} | ${fmt(p.jobs)} | ${fmt(p.submitPerS)} | ${fmt(p.submitP99Ms, 1)} | ${fmt(p.matchedPerS)} | ${fmt(p.matchedP50Ms, 1)} | ${fmt(p.matchedP99Ms, 1)} | ${p.unmatched} |`;
  return [
    "## Production matching: offer index read model vs SQL candidates (bench/matching.ts)",
    "",
    `Run on ${when.toISOString()} by \`node dist/bench/matching.js\`; ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version};` +
      " Postgres, Redis, the api process, one worker process and the load generator on the same machine.",
    "",
    "Each row: a fresh database with that many open offers (4 markets, 16 regions, one node each, 64 GPUs, asks 1.000-2.999 OGPU),",
    `the api and one worker process (MATCHING_CANDIDATES as shown), 20 wallets submitting 1-GPU A100 jobs (cap 2 OGPU) over GraphQL:`,
    `after ${WARM_UP_JOBS} warm-up jobs, **paced**, ${settings.rate} jobs/s open loop for ${settings.seconds} s; then **saturated**, the same number as fast as the API takes them (${SATURATED_IN_FLIGHT} in flight).`,
    "Latency is the server's: jobs.matched_at - jobs.created_at. Rates: jobs created (matched) over first create to last create (match).",
    "",
    "| offers | candidates | load | jobs | submitted/s | submit p99 ms | matched/s | matched p50 ms | matched p99 ms | unmatched |",
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.flatMap((r) => [line(r, r.paced, "paced"), line(r, r.saturated, "saturated")]),
  ].join("\n");
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const offers of settings.sizes) {
    for (const mode of settings.modes) {
      const row = await scenario(offers, mode);
      console.error(`bench: ${JSON.stringify(row)}`);
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
