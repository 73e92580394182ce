/**
 * Submit-to-matched through the API: clients submit jobs over GraphQL while the server's matching worker
 * places them; throughput and latency come from the server's own timestamps (jobs.created_at at submit,
 * jobs.matched_at when the match committed), so the poller's pace does not colour them.
 */
import { Wallet } from "ethers";
import type { Client } from "pg";

export interface JobsBenchDeps {
  url: string;
  pg: Client;
  gql(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<{ status: number; data?: Record<string, unknown> | null; errors?: { message: string }[] }>;
  signIn(url: string, wallet: Pick<Wallet, "address" | "signMessage">): Promise<string>;
  pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void>;
  registerNode: string;
  heartbeat: string;
  postOffer: string;
  submitJob: string;
}

export interface JobsBenchSettings {
  jobs: number;
  concurrency: number;
  nodes: number;
  clients: number;
}

export interface JobsBenchResult {
  jobs: number;
  concurrency: number;
  offers: number;
  gpusOffered: number;
  submitSeconds: number;
  submitP50Ms: number;
  submitP99Ms: number;
  jobsPerSecond: number;
  matchedP50Ms: number;
  matchedP99Ms: number;
  errors: number;
}

const GPU = { model: "NVIDIA A100 80GB PCIe", vramGb: 80, count: 64 };
const REGIONS = ["us-east", "eu-central", "ap-northeast", "us-west", "eu-west"];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function benchSubmitToMatched(d: JobsBenchDeps, s: JobsBenchSettings): Promise<JobsBenchResult> {
  const providers = await Promise.all(Array.from({ length: 5 }, () => d.signIn(d.url, Wallet.createRandom())));
  await d.pool([...Array(s.nodes).keys()], 8, async (i) => {
    const token = providers[i % providers.length];
    const node = await d.gql(d.url, d.registerNode, { input: { name: `bench-a100-${i}`, region: REGIONS[i % REGIONS.length], gpus: [GPU] } }, token);
    const nodeId = (node.data?.registerNode as { id: string } | undefined)?.id;
    if (!nodeId) throw new Error(`registerNode: ${JSON.stringify(node.errors)}`);
    await d.gql(d.url, d.heartbeat, { nodeId }, token);
    const offer = await d.gql(d.url, d.postOffer, { input: { nodeId, pricePerGpuHour: (1 + (i % 20) / 100).toFixed(2), gpuCount: GPU.count } }, token);
    if (offer.errors) throw new Error(`postOffer: ${JSON.stringify(offer.errors)}`);
  });
  const wallets = Array.from({ length: s.clients }, () => Wallet.createRandom());
  const tokens = await Promise.all(wallets.map((w) => d.signIn(d.url, w)));
  await d.pg.query(
    `INSERT INTO escrow_balances (account_id, deposited_wei) SELECT id, 10::numeric ^ 27 FROM accounts WHERE address = ANY($1)
     ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei`,
    [wallets.map((w) => w.address.toLowerCase())],
  );

  const submitMs: number[] = [];
  let errors = 0;
  const ids: string[] = [];
  const started = Date.now();
  await d.pool([...Array(s.jobs).keys()], s.concurrency, async (i) => {
    const t0 = performance.now();
    const r = await d.gql(
      d.url,
      d.submitJob,
      { input: { kind: "INFERENCE", image: "bench/job:1", requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["A100"], maxPricePerGpuHour: "2", maxDurationSeconds: 600 } } },
      tokens[i % tokens.length],
    );
    submitMs.push(performance.now() - t0);
    const id = (r.data?.submitJob as { id: string } | undefined)?.id;
    if (id) ids.push(id);
    else errors++;
  });
  const submitSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await d.pg.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status = 'PENDING'`, [ids]);
    if (rows[0].n === 0) break;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} jobs still PENDING after 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const { rows } = await d.pg.query(
    `SELECT status, extract(epoch FROM created_at) * 1000 AS created, extract(epoch FROM matched_at) * 1000 AS matched FROM jobs WHERE id = ANY($1)`,
    [ids],
  );
  const unmatched = rows.filter((r) => r.status !== "MATCHED").length;
  const latencies = rows.filter((r) => r.matched !== null).map((r) => Number(r.matched) - Number(r.created)).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => Number(r.created)));
  const last = Math.max(...rows.filter((r) => r.matched !== null).map((r) => Number(r.matched)));
  submitMs.sort((a, b) => a - b);
  return {
    jobs: ids.length,
    concurrency: s.concurrency,
    offers: s.nodes,
    gpusOffered: s.nodes * GPU.count,
    submitSeconds,
    submitP50Ms: percentile(submitMs, 50),
    submitP99Ms: percentile(submitMs, 99),
    jobsPerSecond: latencies.length / ((last - first) / 1000),
    matchedP50Ms: percentile(latencies, 50),
    matchedP99Ms: percentile(latencies, 99),
    errors: errors + unmatched,
  };
}
