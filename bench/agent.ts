/**
 * The agent in use (`node dist/bench/agent.js`, part of `npm run bench`): the marketplace in one process and real
 * agent processes (process executor, declared GPUs). Measures, from the server's own timestamps:
 * assignment-to-start latency (assignment created -> the agent's StartAssignment, just before the workload is
 * spawned), the agent's memory (RSS idle and at peak while running jobs), and failover: SIGKILL of the agent
 * running a checkpointing job -> the job RUNNING again on another agent, on the lease alone (target: lease + 5 s) and at
 * the default settings, where missed heartbeats detect it (target: under 20 s).
 * Writes the `agent` section of BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { Client } from "pg";
import { creditEscrow, dropDatabase, rssKiB, startAgent, startMarketplace, waitReady, type Proc } from "./cluster";
import { contractOperation, freePort, must, signIn } from "./client";
import { envInt } from "./env";
import { fmt, writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const DB = "gx_bench_agent";
const LEASE_S = 5;
const settings = {
  starts: envInt("BENCH_AGENT_JOBS", 30),
  failovers: envInt("BENCH_FAILOVERS", 3),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
const WORKLOAD = path.join(ROOT, "agent/examples/checkpoint-counter.js");
const say = (line: string) => process.stderr.write(`${line}\n`);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

interface Market {
  url: string;
  pg: Client;
  keyOf(): Promise<string>;
  submit(model: string, steps: number, stepMs: number): Promise<string>;
  cancel(id: string): Promise<void>;
  waitRow<T>(sql: string, params: unknown[], ok: (row: T | undefined) => boolean, timeoutMs: number, what: string): Promise<T>;
}

/** A marketplace process (`dist/api/bin/main.js`) on a fresh database with `env`, and a client with escrow. */
async function openMarket(db: string, env: Record<string, string>, procs: Proc[], clients: Client[]): Promise<Market> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/graphql`;
  const dbUrl = `${PG}/${db}`;
  await dropDatabase(PG, db);
  // each marketplace runs its own dev chain: on a port of its own, unless the caller moved the chain (CHAIN_PORT)
  const market = startMarketplace(port, dbUrl, { ...(process.env.CHAIN_PORT ? {} : { CHAIN_PORT: String(await freePort()) }), ...env });
  procs.push(market);
  await waitReady(base, market);
  const pg = new Client({ connectionString: dbUrl });
  clients.push(pg);
  await pg.connect();
  const client = Wallet.createRandom();
  const clientToken = await signIn(url, client);
  await creditEscrow(dbUrl, [client.address], 10n ** 24n);
  return {
    url,
    pg,
    keyOf: async () => {
      const token = await signIn(url, Wallet.createRandom());
      return ((await must(url, "createApiKey", contractOperation("account.graphql", "CreateApiKey"), { name: "bench" }, token)).createApiKey as { secret: string }).secret;
    },
    submit: async (model, steps, stepMs) =>
      ((await must(url, "submitJob", contractOperation("jobs.graphql", "SubmitJob"), {
        input: {
          kind: "BATCH",
          command: [process.execPath, WORKLOAD],
          env: [{ name: "STEPS", value: String(steps) }, { name: "STEP_MS", value: String(stepMs) }],
          requirements: { gpuCount: 1, minVramGb: 80, gpuModels: [model], maxPricePerGpuHour: "5", maxDurationSeconds: 600 },
        },
      }, clientToken)).submitJob as { id: string }).id,
    cancel: async (id) => void (await must(url, "cancelJob", contractOperation("jobs.graphql", "CancelJob"), { id }, clientToken)),
    waitRow: async <T>(sql: string, params: unknown[], ok: (row: T | undefined) => boolean, timeoutMs: number, what: string): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await pg.query(sql, params);
        if (ok(rows[0])) return rows[0];
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/**
 * SIGKILL of the agent running a checkpointing job -> the job RUNNING on another agent, `rounds` times. Each round
 * has a GPU model of its own (a victim at 2, a backup at 2.5), so no earlier victim, dead but still counted online,
 * is chosen for the takeover.
 */
async function failovers(m: Market, label: string, rounds: number, heartbeatS: number, work: string, procs: Proc[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const gpu = `NVIDIA FO${label}${i} 80GB:80:1`;
    const model = `FO${label}${i}`;
    const victim = startAgent({ api: m.url, apiKey: await m.keyOf(), name: `${label}-victim-${i}`, region: "eu-central", gpus: gpu, price: "2", workDir: path.join(work, `${label}v${i}`), heartbeatS });
    procs.push(victim);
    await m.waitRow(`SELECT count(*)::int AS n FROM offers o JOIN nodes n ON n.id = o.node_id WHERE n.name = $1 AND o.status = 'OPEN'`, [`${label}-victim-${i}`], (r: { n: number } | undefined) => (r?.n ?? 0) > 0, 60_000, "the victim's offer");
    const id = await m.submit(model, 400, 100);
    const running = await m.waitRow<{ name: string }>(`SELECT n.name FROM assignments a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = $1 AND a.status = 'RUNNING'`, [id], (r) => r !== undefined, 60_000, "the job running");
    if (running.name !== `${label}-victim-${i}`) throw new Error(`the job runs on ${running.name}, not on the agent about to be killed`);
    const backup = startAgent({ api: m.url, apiKey: await m.keyOf(), name: `${label}-backup-${i}`, region: "eu-central", gpus: gpu, price: "2.5", workDir: path.join(work, `${label}b${i}`), heartbeatS });
    procs.push(backup);
    await m.waitRow(`SELECT count(*)::int AS n FROM offers o JOIN nodes n ON n.id = o.node_id WHERE n.name = $1 AND o.status = 'OPEN'`, [`${label}-backup-${i}`], (r: { n: number } | undefined) => (r?.n ?? 0) > 0, 60_000, "the backup's offer");
    await m.waitRow(`SELECT count(*)::int AS n FROM checkpoints WHERE job_id = $1 AND stored_at IS NOT NULL`, [id], (r: { n: number } | undefined) => (r?.n ?? 0) >= 2, 60_000, "checkpoints");
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    const row = await m.waitRow<{ started: number | null }>(
      `SELECT extract(epoch FROM started_at) * 1000 AS started FROM assignments
        WHERE job_id = $1 AND started_at > to_timestamp($2::double precision / 1000) ORDER BY started_at LIMIT 1`,
      [id, killedAt],
      (r) => r?.started !== null && r?.started !== undefined,
      120_000,
      "the takeover",
    );
    out.push(Number(row.started) - killedAt);
    await m.cancel(id);
    await backup.stop();
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<number> {
  const work = mkdtempSync(path.join(os.tmpdir(), "gx-bench-agent-"));
  const procs: Proc[] = [];
  const clients: Client[] = [];
  try {
    // lease-based failover only (the heartbeat detector off), as measured before it existed
    const leased = await openMarket(DB, { LEASE_SECONDS: String(LEASE_S), LEASE_SWEEP_MS: "250", HEARTBEAT_WINDOW_SECONDS: "5", FAILOVER_SILENCE_SECONDS: "0" }, procs, clients);

    // -- assignment to start, and memory
    say(`bench agent: ${settings.starts} jobs through one agent`);
    const agent = startAgent({ api: leased.url, apiKey: await leased.keyOf(), name: "bench-agent", region: "eu-central", gpus: "NVIDIA H100 80GB HBM3:80:4", price: "2", workDir: path.join(work, "a"), extra: ["--max-jobs", "4"] });
    procs.push(agent);
    await leased.waitRow(`SELECT count(*)::int AS n FROM offers WHERE market = 'H100-80GB' AND status = 'OPEN'`, [], (r: { n: number } | undefined) => (r?.n ?? 0) > 0, 60_000, "the agent's offer");
    await new Promise((r) => setTimeout(r, 2000));
    const idleKiB = rssKiB(agent.child.pid) ?? NaN;
    let peakKiB = idleKiB;
    const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB(agent.child.pid) ?? 0)), 100);
    const startMs: number[] = [];
    for (let i = 0; i < settings.starts; i++) {
      const id = await leased.submit("H100", 3, 20);
      const row = await leased.waitRow<{ created: number; started: number | null; status: string }>(
        `SELECT extract(epoch FROM a.created_at) * 1000 AS created, extract(epoch FROM a.started_at) * 1000 AS started, j.status
           FROM jobs j LEFT JOIN assignments a ON a.job_id = j.id WHERE j.id = $1`,
        [id],
        (r) => r?.status === "COMPLETED",
        60_000,
        `job ${i + 1} to complete`,
      );
      startMs.push(Number(row.started) - Number(row.created));
    }
    clearInterval(sampler);
    await agent.stop();
    startMs.sort((a, b) => a - b);

    say(`bench agent: ${settings.failovers} failovers on the lease alone (LEASE_SECONDS=${LEASE_S}, heartbeats every 1 s)`);
    const leaseMs = await failovers(leased, "lease", settings.failovers, 1, work, procs);
    // the production defaults: LEASE_SECONDS 60, FAILOVER_SILENCE_SECONDS 15, LEASE_SWEEP_MS 1000, agents beating every 5 s
    const defaults = await openMarket(`${DB}_defaults`, {}, procs, clients);
    say(`bench agent: ${settings.failovers} failovers at the default settings`);
    const defaultMs = await failovers(defaults, "dflt", settings.failovers, 5, work, procs);

    const row = (what: string, xs: number[], target: string) => `| ${what} | ${xs.length} | ${fmt(pct(xs, 50) / 1000, 2)} s | ${fmt(xs.at(-1)! / 1000, 2)} s | ${target} |`;
    const leaseTarget = (LEASE_S + 5) * 1000;
    const body = [
      "## Agent: assignment to start, memory, failover",
      "",
      `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/agent.ts): the marketplace (\`dist/api/bin/main.js\`) and real agents`,
      `(\`dist/agent/cli.js\`, process executor, declared GPUs, polling every 1 s beside the subscription) on this machine (${os.cpus().length} cores, Node ${process.version}).`,
      "The workload is agent/examples/checkpoint-counter.js. Start latency and memory: LEASE_SECONDS=5, heartbeats every 1 s.",
      "",
      "| measure | n | p50 | p99 / max | target |",
      "|---|---:|---:|---:|---|",
      `| assignment created -> StartAssignment (workload spawned next) | ${startMs.length} | ${fmt(pct(startMs, 50))} ms | ${fmt(pct(startMs, 99))} ms | - |`,
      `| agent RSS idle / peak with up to 4 jobs running | 1 | ${fmt(idleKiB / 1024, 1)} MiB | ${fmt(peakKiB / 1024, 1)} MiB | - |`,
      row(`SIGKILL -> RUNNING elsewhere, lease only (LEASE_SECONDS=${LEASE_S}, FAILOVER_SILENCE_SECONDS=0, sweep 250 ms)`, leaseMs, `lease + 5 s = ${LEASE_S + 5} s`),
      row("SIGKILL -> RUNNING elsewhere, defaults (LEASE_SECONDS=60, FAILOVER_SILENCE_SECONDS=15, sweep 1 s, heartbeats every 5 s)", defaultMs, "under 20 s"),
      "",
      `- lease-only failover within lease + 5 s: **${leaseMs.at(-1)! <= leaseTarget ? "PASS" : "MISS"}** (worst ${fmt(leaseMs.at(-1)! / 1000, 2)} s)`,
      `- failover at the defaults under 20 s: **${defaultMs.at(-1)! < 20_000 ? "PASS" : "MISS"}** (worst ${fmt(defaultMs.at(-1)! / 1000, 2)} s; on the lease alone the defaults would take about 60 s)`,
      "",
      "At the defaults a killed agent is noticed by its missed heartbeats: its node's last heartbeat and its assignment's last",
      "progress are both older than FAILOVER_SILENCE_SECONDS (this workload reports progress every 100 ms, so about 15 s after the kill), then the",
      "sweep, matching, and the other agent's delivery and start with the checkpoint download.",
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (settings.output !== "-") writeSections(settings.output, [["agent", body]]);
    return 0;
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(`bench agent failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
