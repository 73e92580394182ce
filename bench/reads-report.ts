/** The API benchmark's report: the read scenarios' table, their targets, the set-up, and the submit-to-matched section. */
import os from "node:os";
import type autocannon from "autocannon";
import { cpuText, type CpuShare } from "./cpu";
import type { JobsBenchResult } from "./jobs";
import type { Scenario } from "./list-reads";
import { fmt } from "./report";

/** What the report names of the run's settings and seeded book. */
export interface ReadsRun {
  connections: number;
  durationS: number;
  warmupS: number;
  market: string;
  gpu: { model: string; vramGb: number; count: number };
  regions: string[];
}

const TARGET = { orderBookShareOfTrivial: 0.8, orderBookP99Ms: 25, offersShareOfTrivial: 0.5, offersP99Ms: 50 };

export interface Measured {
  scenario: Scenario;
  sample: string;
  result: autocannon.Result;
  /** 2xx answers whose body carried GraphQL errors. */
  errorBodies: number;
  /** non-2xx + connection errors/timeouts + error bodies. */
  failures: number;
  cpu: CpuShare;
}

export interface Seeded {
  providers: number;
  nodes: number;
  offers: number;
  gpus: number;
  askLevels: number;
  priceRange: string;
  seconds: number;
}

export function table(rows: Measured[]): string {
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

export function targets(rows: Measured[], run: ReadsRun): { lines: string[]; met: boolean } {
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
      `- ${check.name} throughput ≥ ${check.share * 100}% of trivial at ${run.connections} connections: ` +
        `**${shareOk ? "PASS" : "MISS"}** (${fmt(100 * share, 1)}%: ${fmt(r.requests.average)} vs ${fmt(trivial.requests.average)} req/s)`,
      `- ${check.name} p99 < ${check.p99Ms} ms at ${run.connections} connections: **${p99Ok ? "PASS" : "MISS"}** (p99 ${r.latency.p99} ms)`,
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

export function report(rows: Measured[], seeded: Seeded, when: Date, serverLines: number, run: ReadsRun): string {
  const t = targets(rows, run);
  return `## API reads (autocannon)

Run on ${when.toISOString()} by \`npm run bench\` (bench/run.ts); BENCH_DURATION_S=${run.durationS}, BENCH_CONNECTIONS=${run.connections}.

### Machine

${machine()}

The load generator (autocannon, in the bench process), the server (an api process and a worker process),
Postgres and Redis all share this machine's cores, so absolute numbers understate what a dedicated server does;
the ratios to the trivial baseline on the same server in the same run are the meaningful figures. With few cores,
expect several percent of variation between runs: repeat before drawing conclusions from a near miss.

### Set-up

The server is \`node dist/api/bin/api.js\` beside \`node dist/api/bin/worker.js\` (the production layout), with NODE_ENV=production and LOG_LEVEL=warn on a freshly dropped and
migrated database. Load: POST /graphql with a JSON body, ${run.connections} connections, no pipelining, anonymous
requests unless a scenario says it is signed in; a ${run.warmupS} s warm-up then ${run.durationS} s measured per scenario.
The same request repeated is what a market page's visitors send; anonymous order-book and offers answers are served from the
response cache while their market's book is unchanged (offers: for at most OFFERS_CACHE_MAX_AGE_MS, 1 s), and the
signed-in scenarios measure the uncached path.

Seeded book: market ${run.market}, ${seeded.providers} providers (wallet sign-in), ${seeded.nodes} nodes of ${run.gpu.count} × ${run.gpu.model}
(${run.gpu.vramGb} GB) over regions ${run.regions.join(", ")}; ${seeded.offers} open offers of 1 GPU each at ${seeded.askLevels} price levels
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

const JOBS_TARGET_PER_S = 500;

export function jobsReport(j: JobsBenchResult, when: Date): string {
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
