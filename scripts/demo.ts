/**
 * `npm run demo`: the marketplace with two local provider agents (process executor, declared GPUs), a client that
 * submits a few checkpointing jobs, and the book and their progress printed as they run. Needs Postgres and Redis
 * (as `npm start`); uses its own database (DEMO_DATABASE, default gx_demo, dropped first) and port (DEMO_PORT, 4100).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { creditEscrow, dropDatabase, startAgent, startMarketplace, waitReady, type Proc } from "../bench/cluster";
import { contractOperation, must, signIn } from "../bench/client";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.DEMO_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const DB = process.env.DEMO_DATABASE ?? "gx_demo";
const PORT = Number(process.env.DEMO_PORT ?? 4100);
const GPU = "NVIDIA H100 80GB HBM3:80";
const say = (line: string) => process.stdout.write(`${line}\n`);

const JOBS = [
  { label: "render-1", steps: 16, redundancy: 1, cap: "3" },
  { label: "train-2", steps: 24, redundancy: 1, cap: "3" },
  { label: "verify-3", steps: 12, redundancy: 2, cap: "3" },
];

async function main(): Promise<void> {
  const base = `http://127.0.0.1:${PORT}`;
  const url = `${base}/graphql`;
  const work = mkdtempSync(path.join(tmpdir(), "gx-demo-"));
  const procs: Proc[] = [];
  const stopAll = async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    say(`demo: fresh database ${DB}, marketplace on ${base}`);
    await dropDatabase(PG, DB);
    const market = startMarketplace(PORT, `${PG}/${DB}`);
    procs.push(market);
    await waitReady(base, market);

    for (const [i, price] of ["2.10", "2.40"].entries()) {
      const provider = Wallet.createRandom();
      const providerToken = await signIn(url, provider);
      const key = (await must(url, "createApiKey", contractOperation("account.graphql", "CreateApiKey"), { name: "demo agent" }, providerToken)).createApiKey as { secret: string };
      const name = `demo-agent-${i + 1}`;
      procs.push(startAgent({ api: url, apiKey: key.secret, name, region: i === 0 ? "eu-central" : "us-east", gpus: `${GPU}:2`, price, workDir: path.join(work, name), extra: ["--max-jobs", "2"] }));
      say(`demo: ${name} of provider ${provider.address} started (2 x H100 80GB declared, ask ${price} OGPU per GPU-hour)`);
    }
    await waitFor(async () => {
      const book = await must(url, "orderBook", contractOperation("market.graphql", "OrderBook"), { market: "H100-80GB" });
      return (book.orderBook as { asks: unknown[] }).asks.length === 2;
    }, 60_000, "both agents' offers on the book");

    const client = Wallet.createRandom();
    const clientToken = await signIn(url, client);
    await creditEscrow(`${PG}/${DB}`, [client.address], 1000n * 10n ** 18n);
    say(`demo: client ${client.address} with 1000 OGPU of escrow (credited in the database until the chain indexer lands)`);
    printBook(await must(url, "orderBook", contractOperation("market.graphql", "OrderBook"), { market: "H100-80GB" }));

    const ws = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${clientToken}` } });
    const finished = new Map<string, string>();
    const labels = new Map<string, string>();
    for (const j of JOBS) {
      const input = {
        kind: "BATCH",
        command: [process.execPath, path.join(ROOT, "agent/examples/checkpoint-counter.js")],
        env: [{ name: "STEPS", value: String(j.steps) }, { name: "STEP_MS", value: "300" }],
        requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["H100"], maxPricePerGpuHour: j.cap, maxDurationSeconds: 600, redundancy: j.redundancy },
      };
      const job = (await must(url, "submitJob", contractOperation("jobs.graphql", "SubmitJob"), { input }, clientToken)).submitJob as { id: string };
      labels.set(job.id, j.label);
      say(`demo: submitted ${j.label} (${j.steps} steps, redundancy ${j.redundancy}) as job ${job.id}`);
      ws.subscribe(
        { query: contractOperation("jobs.graphql", "JobProgress"), variables: { jobId: job.id } },
        {
          next: (v) => {
            const e = (v.data as { jobProgress: { status: string; progress: number; message: string | null } }).jobProgress;
            say(`  ${j.label.padEnd(9)} ${e.status.padEnd(10)} ${String(Math.round(e.progress * 100)).padStart(3)}%  ${e.message ?? ""}`);
            if (["COMPLETED", "FAILED", "CANCELLED"].includes(e.status)) finished.set(job.id, e.status);
          },
          error: (err) => say(`  ${j.label}: subscription error ${JSON.stringify(err).slice(0, 200)}`),
          complete: () => undefined,
        },
      );
    }
    const ticker = setInterval(() => void must(url, "orderBook", contractOperation("market.graphql", "OrderBook"), { market: "H100-80GB" }).then(printBookIfChanged, () => undefined), 1000);
    await waitFor(async () => finished.size === JOBS.length, 180_000, "every job to finish");
    clearInterval(ticker);
    await ws.dispose();
    const JOB = `query J($id: ID!) { job(id: $id) { status cost result { hash agreedBy } assignments { status attempt pricePerGpuHour node { id } } } }`;
    say("demo: results");
    for (const [id, label] of labels) {
      const j = (await must(url, "job", JOB, { id }, clientToken)).job as { status: string; cost: string | null; result: { hash: string; agreedBy: number } | null };
      say(`  ${label.padEnd(9)} ${j.status.padEnd(10)} cost ${j.cost ?? "-"} OGPU  result ${j.result ? `${j.result.hash.slice(0, 16)}... agreed by ${j.result.agreedBy}` : "-"}`);
    }
    printBook(await must(url, "orderBook", contractOperation("market.graphql", "OrderBook"), { market: "H100-80GB" }));
  } finally {
    await stopAll();
  }
}

let lastSequence = "";

function printBookIfChanged(data: Record<string, unknown>): void {
  const sequence = (data.orderBook as { sequence: string }).sequence;
  if (sequence !== lastSequence) printBook(data);
}

function printBook(data: Record<string, unknown>): void {
  lastSequence = (data.orderBook as { sequence: string }).sequence;
  const book = data.orderBook as { sequence: string; asks: { price: string; gpus: number; orders: number }[]; bids: { price: string; gpus: number; orders: number }[] };
  const side = (levels: { price: string; gpus: number; orders: number }[]) => levels.map((l) => `${l.price} x ${l.gpus}`).join(", ") || "-";
  say(`  book H100-80GB #${book.sequence}: asks ${side(book.asks)} | bids ${side(book.bids)}`);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
