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
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Wallet } from "ethers";
import { Client } from "pg";
import { benchSubmitToMatched, type JobsBenchResult } from "./jobs";
import { listReadScenarios, seedListReads, type Scenario } from "./list-reads";
import { envInt } from "./env";
import { writeSections } from "./report";
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
const TARGET = { orderBookShareOfTrivial: 0.8, orderBookP99Ms: 25, offersShareOfTrivial: 0.5, offersP99Ms: 50 };

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

interface Server {
  child: ChildProcess;
  base: string;
  /** The last lines the server wrote, for failure reports. */
  tail: string[];
  /** How many lines the server wrote (LOG_LEVEL=warn: warnings and errors). */
  lines: () => number;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

function startServer(port: number, script: "api.js" | "worker.js"): Server {
  const child = spawn(process.execPath, [...(script === "api.js" ? settings.serverArgs : []), path.join(ROOT, "dist", "api", "bin", script)], {
    cwd: ROOT,
    env: {
      ...process.env,
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
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  let count = 0;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      count++;
      tail.push(line.slice(0, 1000));
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    tail,
    lines: () => count,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        console.error(`bench: the server did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM; killing it`);
        child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitReady(server: Server, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${server.base}/readyz`);
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server was not ready within ${timeoutMs / 1000} s (last: ${last})`);
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

interface Seeded {
  providers: number;
  nodes: number;
  offers: number;
  gpus: number;
  askLevels: number;
  priceRange: string;
  seconds: number;
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

interface Measured {
  scenario: Scenario;
  sample: string;
  result: autocannon.Result;
  /** 2xx answers whose body carried GraphQL errors. */
  errorBodies: number;
  /** non-2xx + connection errors/timeouts + error bodies. */
  failures: number;
  cpu: CpuShare;
}

// ------------------------------------------------------------------ CPU accounting (Linux /proc; "n/a" elsewhere)

interface CpuShare {
  /** CPU time of the bench process (autocannon) over wall time, 100 = one core. */
  loadgen: number;
  /** CPU time of the server process over wall time, 100 = one core; NaN where /proc is missing. */
  server: number;
  /** Busy share of all the machine's cores, 100 = all busy; NaN where /proc is missing. */
  machine: number;
}

const CLOCK_TICKS = 100;

function processTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function machineTicks(): { busy: number; total: number } {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - (cpu[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** Measures CPU shares while `work` runs. */
async function withCpu<T>(serverPid: number | undefined, work: () => Promise<T>): Promise<[T, CpuShare]> {
  const wall = process.hrtime.bigint();
  const self = process.cpuUsage();
  const server = processTicks(serverPid);
  const machine = machineTicks();
  const value = await work();
  const wallUs = Number(process.hrtime.bigint() - wall) / 1000;
  const used = process.cpuUsage(self);
  const serverAfter = processTicks(serverPid);
  const machineAfter = machineTicks();
  return [
    value,
    {
      loadgen: (100 * (used.user + used.system)) / wallUs,
      server: (100 * ((serverAfter - server) / CLOCK_TICKS) * 1e6) / wallUs,
      machine: (100 * (machineAfter.busy - machine.busy)) / (machineAfter.total - machine.total),
    },
  ];
}

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

// ------------------------------------------------------------------ report

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (n: number) => (Number.isFinite(n) ? `${fmt(n)}%` : "n/a");
const cpuText = (c: CpuShare) => `server ${pct(c.server)} of a core, load generator ${pct(c.loadgen)} of a core, machine ${pct(c.machine)} busy`;

function table(rows: Measured[]): string {
  const trivial = rows.find((r) => r.scenario.name === "trivial")?.result.requests.average ?? NaN;
  const lines = [
    "| scenario | req/s | p50 ms | p99 ms | non-2xx/errors | % of trivial |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => {
      const { result } = r;
      const failures = `${result.non2xx}/${result.errors + result.timeouts + r.errorBodies}`;
      const share = r.scenario.name === "trivial" ? "100%" : Number.isNaN(trivial) ? "n/a" : `${fmt((100 * result.requests.average) / trivial, 1)}%`;
      return `| ${r.scenario.name} | ${fmt(result.requests.average)} | ${result.latency.p50} | ${result.latency.p99} | ${failures} | ${share} |`;
    }),
  ];
  return lines.join("\n");
}

function targets(rows: Measured[]): { lines: string[]; met: boolean } {
  const trivial = rows.find((r) => r.scenario.name === "trivial")?.result;
  const book = rows.find((r) => r.scenario.name === "orderBook")?.result;
  if (!trivial || !book) return { met: false, lines: ["- targets need the trivial and orderBook scenarios"] };
  const checks = [
    { name: "orderBook", share: TARGET.orderBookShareOfTrivial, p99Ms: TARGET.orderBookP99Ms },
    { name: "offers", share: TARGET.offersShareOfTrivial, p99Ms: TARGET.offersP99Ms },
    { name: "offersSignedIn", share: TARGET.offersShareOfTrivial, p99Ms: TARGET.offersP99Ms },
  ];
  const lines: string[] = [];
  let met = true;
  for (const check of checks) {
    const r = check.name === "orderBook" ? book : rows.find((x) => x.scenario.name === check.name)?.result;
    if (!r) continue;
    const share = r.requests.average / trivial.requests.average;
    const shareOk = share >= check.share;
    const p99Ok = r.latency.p99 < check.p99Ms;
    met &&= shareOk && p99Ok;
    lines.push(
      `- ${check.name} throughput ≥ ${check.share * 100}% of trivial at ${settings.connections} connections: ` +
        `**${shareOk ? "PASS" : "MISS"}** (${fmt(100 * share, 1)}%: ${fmt(r.requests.average)} vs ${fmt(trivial.requests.average)} req/s)`,
      `- ${check.name} p99 < ${check.p99Ms} ms at ${settings.connections} connections: **${p99Ok ? "PASS" : "MISS"}** (p99 ${r.latency.p99} ms)`,
    );
  }
  return { met, lines };
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0]?.model.trim() ?? "unknown"}, ${cpus.length} cores (os.cpus)`,
    `- Memory: ${fmt(os.totalmem() / 2 ** 30, 1)} GiB`,
    `- Node: ${process.version}`,
    `- OS: ${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
  ].join("\n");
}

function report(rows: Measured[], seeded: Seeded, when: Date, serverLines: number): string {
  const t = targets(rows);
  return `## API reads (autocannon)

Run on ${when.toISOString()} by \`npm run bench\` (bench/run.ts); BENCH_DURATION_S=${settings.durationS}, BENCH_CONNECTIONS=${settings.connections}.

### Machine

${machine()}

The load generator (autocannon, in the bench process), the server (an api process and a worker process),
Postgres and Redis all share this machine's cores, so absolute numbers understate what a dedicated server does;
the ratios to the trivial baseline on the same server in the same run are the meaningful figures. With few cores,
expect several percent of variation between runs: repeat before drawing conclusions from a near miss.

### Set-up

The server is \`node dist/api/bin/api.js\` beside \`node dist/api/bin/worker.js\` (the production layout), with NODE_ENV=production and LOG_LEVEL=warn on a freshly dropped and
migrated database. Load: POST /graphql with a JSON body, ${settings.connections} connections, no pipelining, anonymous
requests unless a scenario says it is signed in; a ${settings.warmupS} s warm-up then ${settings.durationS} s measured per scenario.
The same request repeated is what a market page's visitors send; anonymous order-book and offers answers are served from the
response cache while their market's book is unchanged (offers: for at most OFFERS_CACHE_MAX_AGE_MS, 1 s), and the
signed-in scenarios measure the uncached path.

Seeded book: market ${MARKET}, ${seeded.providers} providers (wallet sign-in), ${seeded.nodes} nodes of ${GPU.count} × ${GPU.model}
(${GPU.vramGb} GB) over regions ${REGIONS.join(", ")}; ${seeded.offers} open offers of 1 GPU each at ${seeded.askLevels} price levels
(${seeded.priceRange} OGPU per GPU-hour), ${seeded.gpus} GPUs on the ask side, no bids. Seeding took ${fmt(seeded.seconds, 1)} s.

Scenarios:

${rows.map((r) => `- **${r.scenario.name}**: ${r.scenario.description}. Sample answer checked before the run: ${r.sample}.`).join("\n")}

### Results

${table(rows)}

req/s is autocannon's average of per-second samples; p50/p99 are autocannon's latency.p50/latency.p99.
non-2xx/errors: non-2xx answers / (connection errors + timeouts + 2xx answers whose body carried GraphQL \`errors\`).
CPU during each measured run (/proc): ${rows.map((r) => `${r.scenario.name}: ${cpuText(r.cpu)}`).join("; ")}.
The api is one Node process (reads need no worker), so about 100% of a core is its ceiling; when the load generator is also near a full
core, the trivial baseline measures the load generator as much as the server.
The server wrote ${serverLines} log line${serverLines === 1 ? "" : "s"} at level warn or above during the run.

### Targets

${t.lines.join("\n")}
`;
}

// ------------------------------------------------------------------ main

const JOBS_TARGET_PER_S = 500;

function jobsReport(j: JobsBenchResult, when: Date): string {
  const met = j.jobsPerSecond >= JOBS_TARGET_PER_S;
  return [
    "## Submit to matched, end to end (GraphQL submitJob -> BullMQ -> matching worker -> Postgres)",
    "",
    `Run on ${when.toISOString()} by \`npm run bench\` (bench/jobs.ts), same server and machine as the reads above.`,
    "",
    `${fmt(j.jobs)} jobs of 1 GPU (A100 80GB, cap 2 OGPU) submitted by 20 wallets, ${j.concurrency} submissions in flight, against ` +
      `${j.offers} offers of 64 GPUs on 100 online nodes (${fmt(j.gpusOffered)} GPUs, asks 1.00–1.19). The api process takes the submits; the ` +
      "worker process places them (jobs that arrive while a placement transaction runs go together in the next, up to 64). Latency is the server's own: jobs.matched_at - jobs.created_at; throughput is matched jobs over the " +
      "span from the first submit to the last match.",
    "",
    "| jobs | jobs/s | matched p50 ms | matched p99 ms | submit p50 ms | submit p99 ms | submit phase s | errors |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| ${fmt(j.jobs)} | ${fmt(j.jobsPerSecond)} | ${fmt(j.matchedP50Ms, 1)} | ${fmt(j.matchedP99Ms, 1)} | ${fmt(j.submitP50Ms, 1)} | ${fmt(j.submitP99Ms, 1)} | ${fmt(j.submitSeconds, 1)} | ${j.errors} |`,
    "",
    `- end to end ≥ ${JOBS_TARGET_PER_S} jobs/s on this machine: **${met ? "PASS" : "MISS"}** (${fmt(j.jobsPerSecond)} jobs/s)`,
  ].join("\n");
}

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
    await waitReady(server);
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
    console.log(targets(rows).lines.join("\n"));
    if (chosen.length < all.length) {
      console.error("bench: a subset of the scenarios ran; no report written");
    } else if (settings.output !== "-") {
      const sections: [string, string][] = [["api-reads", report(rows, seeded, when, serverLines)]];
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
