/**
 * `npm run bench`: starts the server as production runs it, an api process (`node dist/api/bin/api.js`) and a worker
 * process (`node dist/api/bin/worker.js`), on a fresh database, seeds a book
 * over GraphQL (wallet sign-in, nodes, offers), then loads three read operations with autocannon and writes
 * BENCHMARKS.md. Exits non-zero when a scenario saw errors or the server could not be started.
 *
 * Environment (all optional):
 *   BENCH_DURATION_S     measured seconds per scenario (10)
 *   BENCH_WARMUP_S       warm-up seconds before each scenario (2)
 *   BENCH_CONNECTIONS    concurrent connections (50)
 *   BENCH_NODES          nodes to register (50), 8 H100 80GB each
 *   BENCH_OFFERS         1-GPU offers to post (400), over BENCH_LEVELS price levels (40) from 2.00
 *   BENCH_PG_URL         Postgres server to use (postgres://postgres@127.0.0.1:5432)
 *   BENCH_DB             database name, dropped at start (gx_bench)
 *   REDIS_URL            Redis for the server (redis://127.0.0.1:6379)
 *   BENCH_OUTPUT         where to write the report (BENCHMARKS.md in the repository root; "-" for none)
 *   BENCH_SCENARIOS      comma-separated subset to run, e.g. "trivial,orderBook" (all); a subset writes no report
 *   BENCH_SERVER_ARGS    extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (none)
 *   BENCH_JOBS           jobs submitted in the submit-to-matched phase (3000; 0 skips it)
 *   BENCH_JOB_CONCURRENCY  submissions in flight at once (50)
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import autocannon from "autocannon";
import { Wallet } from "ethers";
import { Client } from "pg";
import { benchSubmitToMatched, type JobsBenchResult } from "./jobs";
import { startProcess, waitReady, type ServerProcess } from "./processes";
import { cpuText, withCpu } from "./cpu";
import { fmt, writeSections } from "./report";
import { jobsReport, report, table, targets, type Measured, type Seeded } from "./reads-report";
import { listReadScenarios, seedListReads, type Scenario } from "./list-reads";
import { envInt } from "./env";
import { freePort, gql, HEARTBEAT, must, OFFERS, ORDER_BOOK, POST_OFFER, REGISTER_NODE, signIn, SUBMIT_JOB } from "./client";

const ROOT = path.resolve(__dirname, "..", "..");

const settings = {
  durationS: envInt("BENCH_DURATION_S", 10),
  warmupS: envInt("BENCH_WARMUP_S", 2, 0),
  connections: envInt("BENCH_CONNECTIONS", 50),
  nodes: envInt("BENCH_NODES", 50),
  offers: envInt("BENCH_OFFERS", 400),
  levels: envInt("BENCH_LEVELS", 40),
  pgUrl: (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, ""),
  dbName: process.env.BENCH_DB ?? "gx_bench",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
  scenarios: (process.env.BENCH_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  serverArgs: (process.env.BENCH_SERVER_ARGS ?? "").split(/\s+/).filter(Boolean),
  jobs: envInt("BENCH_JOBS", 3000, 0),
  jobConcurrency: envInt("BENCH_JOB_CONCURRENCY", 50),
};

const MARKET = "H100-80GB";
const GPU = { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 8 };
const REGIONS = ["us-east", "eu-central", "ap-northeast", "us-west", "eu-west"];
const PROVIDERS = 5;
const RUN = { connections: settings.connections, durationS: settings.durationS, warmupS: settings.warmupS, market: MARKET, gpu: GPU, regions: REGIONS };

// ------------------------------------------------------------------ server process

async function dropDatabase(): Promise<void> {
  const admin = new Client({ connectionString: `${settings.pgUrl}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${settings.dbName.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

interface Server extends ServerProcess {
  base: string;
}

function startServer(port: number, script: "api.js" | "worker.js"): Server {
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: `${settings.pgUrl}/${settings.dbName}`,
    REDIS_URL: settings.redisUrl,
    QUEUE_PREFIX: "gxbench",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: randomBytes(32).toString("hex"),
    RATE_LIMIT_PER_MINUTE: "0",
    // the bench's nodes beat once: their matched work must not be taken over (and matched again) mid-run
    FAILOVER_SILENCE_SECONDS: "0",
    PUBLIC_URL: `http://localhost:${port}`,
  };
  return { ...startProcess(script, env, script === "api.js" ? settings.serverArgs : []), base: `http://127.0.0.1:${port}` };
}

// ------------------------------------------------------------------ seed

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function seed(url: string): Promise<Seeded> {
  const started = Date.now();
  if (settings.offers > settings.nodes * GPU.count) throw new Error(`BENCH_OFFERS ${settings.offers} is more than ${settings.nodes} nodes x ${GPU.count} GPUs`);
  const tokens = await Promise.all(Array.from({ length: PROVIDERS }, () => signIn(url, Wallet.createRandom())));

  const nodeIds: string[] = new Array(settings.nodes);
  await pool([...Array(settings.nodes).keys()], 8, async (i) => {
    const data = await must(
      url,
      `registerNode ${i}`,
      REGISTER_NODE,
      { input: { name: `bench-node-${String(i).padStart(3, "0")}`, region: REGIONS[i % REGIONS.length], gpus: [GPU], cpuCores: 64, ramGb: 512, agentVersion: "bench" } },
      tokens[i % PROVIDERS],
    );
    nodeIds[i] = (data.registerNode as { id: string }).id;
  });

  const prices = new Set<string>();
  await pool([...Array(settings.offers).keys()], 8, async (i) => {
    const node = i % settings.nodes;
    const price = (2 + (i % settings.levels) / 100).toFixed(2);
    prices.add(price);
    await must(url, `postOffer ${i}`, POST_OFFER, { input: { nodeId: nodeIds[node], pricePerGpuHour: price, gpuCount: 1 } }, tokens[node % PROVIDERS]);
  });

  const sorted = [...prices].sort((a, b) => Number(a) - Number(b));
  const book = await must(url, "orderBook (seed check)", ORDER_BOOK, { market: MARKET, depth: 500 });
  const asks = (book.orderBook as { asks: { gpus: number }[] }).asks;
  const gpus = asks.reduce((sum, level) => sum + level.gpus, 0);
  if (asks.length !== sorted.length || gpus !== settings.offers) {
    throw new Error(`the seeded book has ${asks.length} ask levels and ${gpus} GPUs; expected ${sorted.length} levels and ${settings.offers} GPUs`);
  }
  return {
    providers: PROVIDERS,
    nodes: settings.nodes,
    offers: settings.offers,
    gpus,
    askLevels: asks.length,
    priceRange: `${sorted[0]}–${sorted[sorted.length - 1]}`,
    seconds: (Date.now() - started) / 1000,
  };
}

// ------------------------------------------------------------------ scenarios

const SCENARIOS: Scenario[] = [
  {
    name: "trivial",
    description: "`query Trivial { __typename }`: HTTP, Apollo, context and auth middleware, no resolver work (the baseline)",
    query: "query Trivial { __typename }",
    variables: {},
    check(data) {
      if (data.__typename !== "Query") throw new Error(`__typename is ${JSON.stringify(data.__typename)}`);
      return "__typename = Query";
    },
  },
  {
    name: "orderBook",
    description: `contract OrderBook (contract/market.graphql), market ${MARKET}, depth 20`,
    query: ORDER_BOOK,
    variables: { market: MARKET, depth: 20 },
    check(data) {
      const book = data.orderBook as { asks: unknown[]; bids: unknown[]; sequence: unknown };
      if (!book || book.asks.length !== Math.min(20, settings.levels)) throw new Error(`orderBook has ${book?.asks.length} ask levels`);
      return `${book.asks.length} ask levels, ${book.bids.length} bid levels, sequence ${String(book.sequence)}`;
    },
  },
  {
    name: "offers",
    description: `contract Offers (contract/provider.graphql), filter { market: ${MARKET} }, first 20: node and provider field resolvers, totalCount`,
    query: OFFERS,
    variables: { filter: { market: MARKET }, first: 20 },
    check(data) {
      const page = data.offers as { edges: { node: { node?: { id: string }; provider?: { address: string } } }[]; totalCount: number };
      if (!page || page.edges.length !== Math.min(20, settings.offers)) throw new Error(`offers has ${page?.edges.length} edges`);
      if (page.totalCount !== settings.offers) throw new Error(`offers totalCount is ${page.totalCount}, expected ${settings.offers}`);
      if (!page.edges.every((e) => e.node.node?.id && e.node.provider?.address)) throw new Error("an offer lacks its node or provider");
      return `${page.edges.length} edges with node and provider, totalCount ${page.totalCount}`;
    },
  },
];

function load(url: string, scenario: Scenario, seconds: number, title: string): Promise<{ result: autocannon.Result; errorBodies: number }> {
  let errorBodies = 0;
  const body = JSON.stringify({ query: scenario.query, variables: scenario.variables });
  return autocannon({
    url,
    title,
    method: "POST",
    headers: { "content-type": "application/json", ...(scenario.token ? { authorization: `Bearer ${scenario.token}` } : {}) },
    body,
    connections: settings.connections,
    duration: seconds,
    // Each answer counts as a mismatch when it carries GraphQL errors (Apollo answers 200 for many of them).
    verifyBody: (answer) => {
      const ok = typeof answer === "string" && answer.startsWith('{"data"') && !answer.includes('"errors"');
      if (!ok) errorBodies++;
      return ok;
    },
  }).then((result) => ({ result, errorBodies }));
}

async function measure(url: string, scenario: Scenario, serverPid: number | undefined): Promise<Measured> {
  const sample = await gql(url, scenario.query, scenario.variables, scenario.token);
  if (sample.status !== 200 || sample.errors?.length || !sample.data) {
    throw new Error(`${scenario.name}: the sample answer is HTTP ${sample.status} ${JSON.stringify(sample.errors ?? sample.data).slice(0, 500)}`);
  }
  const described = scenario.check(sample.data);
  console.error(`- ${scenario.name}: sample ok (${described})`);
  if (settings.warmupS > 0) await load(url, scenario, settings.warmupS, `${scenario.name} warm-up`);
  const [{ result, errorBodies }, cpu] = await withCpu(serverPid, () => load(url, scenario, settings.durationS, scenario.name));
  const failures = result.non2xx + result.errors + result.timeouts + Math.max(result.mismatches, errorBodies);
  console.error(
    `  ${scenario.name}: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
      `${result.requests.total} requests, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}, error bodies ${errorBodies}; ` +
      `CPU ${cpuText(cpu)}`,
  );
  return { scenario, sample: described, result, errorBodies, failures, cpu };
}

// ------------------------------------------------------------------ main

/** Runs `work` with a client of the bench's database. */
async function withPg<T>(work: (pg: Client) => Promise<T>): Promise<T> {
  const pg = new Client({ connectionString: `${settings.pgUrl}/${settings.dbName}` });
  await pg.connect();
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const port = await freePort();
  console.error(`bench: dropping database ${settings.dbName}, starting the server on port ${port}`);
  await dropDatabase();
  const server = startServer(port, "api.js");
  let worker: Server | undefined;
  const stop = () => void Promise.all([server.stop(), worker?.stop()]);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await waitReady(server.base, server);
    worker = startServer(port, "worker.js");
    const url = `${server.base}/graphql`;
    const seeded = await seed(url);
    console.error(`bench: seeded ${seeded.nodes} nodes, ${seeded.offers} offers at ${seeded.askLevels} levels in ${fmt(seeded.seconds, 1)} s`);
    const lists = await withPg((pg) => seedListReads(url, pg));
    const all = [...SCENARIOS, ...listReadScenarios(lists, { market: MARKET, expected: settings.offers })];
    const unknown = settings.scenarios.filter((name) => !all.some((s) => s.name === name));
    if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS names unknown scenarios: ${unknown.join(", ")} (known: ${all.map((s) => s.name).join(", ")})`);
    const chosen = settings.scenarios.length > 0 ? all.filter((s) => settings.scenarios.includes(s.name)) : all;
    const rows: Measured[] = [];
    for (const scenario of chosen) rows.push(await measure(url, scenario, server.child.pid));
    let jobs: JobsBenchResult | undefined;
    if (settings.jobs > 0) {
      console.error(`bench: submit-to-matched, ${settings.jobs} jobs at ${settings.jobConcurrency} in flight`);
      jobs = await withPg((pg) =>
        benchSubmitToMatched(
          { url, pg, gql, signIn, pool, registerNode: REGISTER_NODE, heartbeat: HEARTBEAT, postOffer: POST_OFFER, submitJob: SUBMIT_JOB },
          { jobs: settings.jobs, concurrency: settings.jobConcurrency, nodes: 100, clients: 20 },
        ),
      );
      console.error(
        `  submitToMatched: ${fmt(jobs.jobsPerSecond)} jobs/s, matched p50 ${fmt(jobs.matchedP50Ms, 1)} ms, p99 ${fmt(jobs.matchedP99Ms, 1)} ms; submit p99 ${fmt(jobs.submitP99Ms, 1)} ms; errors ${jobs.errors}`,
      );
    }
    const when = new Date();
    const serverLines = server.lines();
    if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode} during the run`);

    console.log(table(rows));
    console.log();
    console.log(targets(rows, RUN).lines.join("\n"));
    if (chosen.length < all.length) {
      console.error("bench: a subset of the scenarios ran; no report written");
    } else if (settings.output !== "-") {
      const sections: [string, string][] = [["api-reads", report(rows, seeded, when, serverLines, RUN)]];
      if (jobs) sections.push(["api-jobs", jobsReport(jobs, when)]);
      writeSections(settings.output, sections);
      console.error(`bench: wrote ${settings.output}`);
    }
    if (serverLines > 0) console.error(`bench: the server logged ${serverLines} lines; the last:\n${server.tail.join("\n")}`);
    console.error(`bench: done in ${fmt((Date.now() - started) / 1000, 1)} s`);
    if (jobs && jobs.errors > 0) {
      console.error(`bench: ${jobs.errors} jobs failed to submit or match`);
      return 1;
    }
    const failed = rows.filter((r) => r.failures > 0);
    if (failed.length > 0) {
      console.error(`bench: errors in ${failed.map((r) => `${r.scenario.name} (${r.failures})`).join(", ")}`);
      return 1;
    }
    return 0;
  } catch (err) {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    if (server.tail.length > 0) console.error(`server output (last lines):\n${server.tail.join("\n")}`);
    return 1;
  } finally {
    await Promise.all([server.stop(), worker?.stop()]);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
