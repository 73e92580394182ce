/**
 * The matching engine alone: OfferIndex.best placements against the naive baseline, selectOffers (a full scan, score
 * and sort), on the same deterministic books and jobs in the same run. Exits 1 when the two ever choose different
 * offers. Prints the table and writes the `engine` section of BENCHMARKS.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/engine.js
 *
 * Environment (all optional):
 *   BENCH_ENGINE_JOBS    jobs placed per book size, each by both engines (2000)
 *   BENCH_ENGINE_SIZES   comma-separated book sizes (1000,10000,100000); other sizes write no report
 *   BENCH_ENGINE_SEED    seed of the books and jobs (42)
 *   BENCH_OUTPUT         where to write the report (BENCHMARKS.md in the repository root; "-" for none)
 */
import os from "node:os";
import path from "node:path";
import { OfferIndex, selectOffers, type Candidate, type Requirements } from "../matching";
import { BENCH_MARKETS, buildBook, buildJobs, seededRandom } from "./engine-book";
import { envInt } from "./env";
import { writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const DEFAULT_SIZES = [1_000, 10_000, 100_000];
const TARGET = { offers: 100_000, p99Us: 200, speedUp: 20 };

const settings = {
  jobs: envInt("BENCH_ENGINE_JOBS", 2000),
  seed: envInt("BENCH_ENGINE_SEED", 42, 0),
  sizes: (process.env.BENCH_ENGINE_SIZES ?? DEFAULT_SIZES.join(",")).split(",").map((s) => Number(s.trim())),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
for (const s of settings.sizes) if (!Number.isInteger(s) || s < 1) throw new Error(`BENCH_ENGINE_SIZES must list whole numbers, got ${s}`);

interface Timing {
  perSecond: number;
  p50Us: number;
  p99Us: number;
}

interface Row {
  offers: number;
  buildMs: number;
  upsertP50Us: number;
  upsertP99Us: number;
  chosenAvg: number;
  index: Timing;
  naive: Timing;
}

function timingOf(nanos: Float64Array): Timing {
  const sorted = Float64Array.from(nanos).sort();
  const total = nanos.reduce((s, n) => s + n, 0);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000;
  return { perSecond: (nanos.length * 1e9) / total, p50Us: at(0.5), p99Us: at(0.99) };
}

function measure(jobs: readonly Requirements[], place: (req: Requirements) => Candidate[]): { nanos: Float64Array; results: string[][] } {
  const nanos = new Float64Array(jobs.length);
  const results: string[][] = [];
  for (let i = 0; i < jobs.length; i++) {
    const start = process.hrtime.bigint();
    const chosen = place(jobs[i]);
    nanos[i] = Number(process.hrtime.bigint() - start);
    results.push(chosen.map((c) => c.offerId));
  }
  return { nanos, results };
}

function upsertTimings(index: OfferIndex, book: readonly Candidate[], seed: number): Timing {
  const rnd = seededRandom(seed);
  const nanos = new Float64Array(Math.min(2000, book.length));
  for (let i = 0; i < nanos.length; i++) {
    const c = book[Math.floor(rnd() * book.length)];
    const repriced = { ...c, priceWei: (c.priceWei * BigInt(900 + Math.floor(rnd() * 200))) / 1000n, availableGpus: Math.max(1, c.availableGpus - 1) };
    const start = process.hrtime.bigint();
    index.upsert(repriced);
    nanos[i] = Number(process.hrtime.bigint() - start);
  }
  return timingOf(nanos);
}

function runSize(offers: number): { row: Row; mismatches: string[] } {
  const book = buildBook(offers, settings.seed + offers);
  const jobs = buildJobs(settings.jobs, settings.seed * 7 + offers);
  const warm = buildJobs(Math.min(500, settings.jobs), settings.seed * 13 + offers);

  const buildStart = process.hrtime.bigint();
  const index = new OfferIndex();
  for (const c of book) index.upsert(c);
  const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;

  for (const req of warm) index.best(req);
  for (const req of warm.slice(0, Math.max(5, Math.floor(20_000 / offers)))) selectOffers(book, req);

  const indexRun = measure(jobs, (req) => index.best(req));
  const naiveRun = measure(jobs, (req) => selectOffers(book, req));

  const churn = upsertTimings(index, book, settings.seed + offers);

  const mismatches: string[] = [];
  let chosen = 0;
  for (let i = 0; i < jobs.length; i++) {
    const a = indexRun.results[i].join(",");
    const b = naiveRun.results[i].join(",");
    chosen += indexRun.results[i].length;
    if (a !== b) mismatches.push(`${offers} offers, job ${i}: index [${a}] but naive [${b}]`);
  }
  return {
    row: { offers, buildMs, upsertP50Us: churn.p50Us, upsertP99Us: churn.p99Us, chosenAvg: chosen / jobs.length, index: timingOf(indexRun.nanos), naive: timingOf(naiveRun.nanos) },
    mismatches,
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (n: number) => (n < 10 ? n.toFixed(1) : int(n));

function tableOf(rows: readonly Row[]): string {
  const lines = [
    "| offers | index placements/s | p50 µs | p99 µs | naive placements/s | naive p50 µs | naive p99 µs | speed-up |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${int(r.offers)} | ${int(r.index.perSecond)} | ${us(r.index.p50Us)} | ${us(r.index.p99Us)} | ${int(r.naive.perSecond)} | ${us(r.naive.p50Us)} | ${us(r.naive.p99Us)} | ${(r.index.perSecond / r.naive.perSecond).toFixed(1)}× |`,
    );
  }
  return lines.join("\n");
}

function targetLines(rows: readonly Row[]): string[] {
  const r = rows.find((x) => x.offers === TARGET.offers);
  if (r === undefined) return [`- no ${int(TARGET.offers)}-offer book in this run: targets not checked`];
  const speedUp = r.index.perSecond / r.naive.perSecond;
  return [
    `- index p99 < ${TARGET.p99Us} µs at ${int(TARGET.offers)} offers: **${r.index.p99Us < TARGET.p99Us ? "PASS" : "MISS"}** (p99 ${us(r.index.p99Us)} µs)`,
    `- index throughput ≥ ${TARGET.speedUp}× naive at ${int(TARGET.offers)} offers: **${speedUp >= TARGET.speedUp ? "PASS" : "MISS"}** (${speedUp.toFixed(1)}×: ${int(r.index.perSecond)} vs ${int(r.naive.perSecond)} placements/s)`,
  ];
}

function reportOf(rows: readonly Row[], mismatches: number, startedAt: string, seconds: number): string {
  const cpus = os.cpus();
  return `## Matching engine (OfferIndex vs full scan)

Run on ${startedAt} by \`node dist/bench/engine.js\` (bench/engine.ts) in ${seconds.toFixed(1)} s; BENCH_ENGINE_JOBS=${settings.jobs}, BENCH_ENGINE_SEED=${settings.seed}.

### Machine

- CPU: ${cpus[0]?.model.trim() ?? "unknown"}, ${cpus.length} cores (os.cpus)
- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB
- Node: ${process.version}
- OS: ${os.type()} ${os.release()} (${process.platform}/${process.arch})

### Set-up

One Node process, no I/O: matching/ alone. Books are deterministic (seeded mulberry32): offers over ${BENCH_MARKETS.length} markets
(${BENCH_MARKETS.map((m) => `${m.gpuModel}-${m.vramGb}GB`).join(", ")}) and the 16 regions, from offers / 20 providers
with reputations from random records (reputationOf), 30% of nodes with a measured latency, asks ±30% around each
market's typical price in 0.001 OGPU steps, 1 to 8 GPUs free, 3% offline. Jobs: BALANCED 70%, CHEAPEST / FASTEST /
MOST_RELIABLE 10% each, 1 to 8 GPUs, a VRAM floor or named models, a region on 40% (a latency bound on 60% of
those), a price cap on 80%, a reputation floor on 30%, redundancy 2 on 15%.

For each size the index is built by upserting every offer (time below), warmed up on 500 other jobs, then the same
${settings.jobs} jobs are placed by \`OfferIndex.best(req)\` and by the naive baseline \`selectOffers(book, req)\` (filter,
score and sort the whole book), each call timed with process.hrtime.bigint. placements/s = calls / summed call time;
p50/p99 are per call. Both must choose the same offers, in the same order, for every job: ${mismatches === 0 ? "they did" : `**${mismatches} jobs differed**`}.

### Results

${tableOf(rows)}

Index build (one upsert per offer): ${rows.map((r) => `${int(r.offers)} offers in ${int(r.buildMs)} ms`).join(", ")}.
Upsert of an existing offer (repriced, one GPU fewer), after the placements, 2,000 per size: p50 / p99 ${rows.map((r) => `${us(r.upsertP50Us)} / ${us(r.upsertP99Us)} µs`).join(", ")}. Offers chosen per job (average): ${rows.map((r) => r.chosenAvg.toFixed(2)).join(", ")}.

### Targets

${targetLines(rows).join("\n")}
`;
}

function main(): void {
  const startedAt = new Date().toISOString();
  const t0 = process.hrtime.bigint();
  const rows: Row[] = [];
  const mismatches: string[] = [];
  for (const size of settings.sizes) {
    const { row, mismatches: m } = runSize(size);
    rows.push(row);
    mismatches.push(...m);
    console.log(`${int(size)} offers: index p99 ${us(row.index.p99Us)} µs, naive p99 ${us(row.naive.p99Us)} µs`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`\n${tableOf(rows)}\n`);
  for (const line of targetLines(rows)) console.log(line);
  const standard = settings.sizes.join(",") === DEFAULT_SIZES.join(",");
  if (settings.output !== "-" && standard) {
    writeSections(settings.output, [["engine", reportOf(rows, mismatches.length, startedAt, seconds)]]);
    console.log(`\nwrote ${settings.output}`);
  }
  if (mismatches.length > 0) {
    for (const m of mismatches.slice(0, 20)) console.error(m);
    console.error(`${mismatches.length} jobs placed differently by the index and the naive baseline`);
    process.exit(1);
  }
}

main();
