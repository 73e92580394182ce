/**
 * The agent in use (`node dist/bench/agent.js`, part of `npm run bench`): the marketplace in one process and real
 * agent processes (process executor, declared GPUs). Measures, from the server's own timestamps:
 * assignment-to-start latency (assignment created -> the agent's StartAssignment, just before the workload is
 * spawned), the agent's memory (RSS idle and at peak while running jobs), and failover: SIGKILL of the agent
 * running a checkpointing job -> the job RUNNING again on another agent (target: lease + 5 s).
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
import { writeSections } from "./report";

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
const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<number> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/graphql`;
  const dbUrl = `${PG}/${DB}`;
  const work = mkdtempSync(path.join(os.tmpdir(), "gx-bench-agent-"));
  const procs: Proc[] = [];
  const pg = new Client({ connectionString: dbUrl });
  try {
    await dropDatabase(PG, DB);
    const market = startMarketplace(port, dbUrl, { LEASE_SECONDS: String(LEASE_S), LEASE_SWEEP_MS: "250", HEARTBEAT_WINDOW_SECONDS: "5" });
    procs.push(market);
    await waitReady(base, market);
    await pg.connect();
    const keyOf = async () => {
      const token = await signIn(url, Wallet.createRandom());
      return ((await must(url, "createApiKey", contractOperation("account.graphql", "CreateApiKey"), { name: "bench" }, token)).createApiKey as { secret: string }).secret;
    };
    const client = Wallet.createRandom();
    const clientToken = await signIn(url, client);
    await creditEscrow(dbUrl, [client.address], 10n ** 24n);
    const submit = async (model: string, steps: number, stepMs: number) =>
      ((await must(url, "submitJob", contractOperation("jobs.graphql", "SubmitJob"), {
        input: {
          kind: "BATCH",
          command: [process.execPath, WORKLOAD],
          env: [{ name: "STEPS", value: String(steps) }, { name: "STEP_MS", value: String(stepMs) }],
          requirements: { gpuCount: 1, minVramGb: 80, gpuModels: [model], maxPricePerGpuHour: "5", maxDurationSeconds: 600 },
        },
      }, clientToken)).submitJob as { id: string }).id;
    const waitRow = async <T>(sql: string, params: unknown[], ok: (row: T | undefined) => boolean, timeoutMs: number, what: string): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await pg.query(sql, params);
        if (ok(rows[0])) return rows[0];
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    // -- assignment to start, and memory
    say(`bench agent: ${settings.starts} jobs through one agent`);
    const agent = startAgent({ api: url, apiKey: await keyOf(), name: "bench-agent", region: "eu-central", gpus: "NVIDIA H100 80GB HBM3:80:4", price: "2", workDir: path.join(work, "a"), extra: ["--max-jobs", "4"] });
    procs.push(agent);
    await waitRow(`SELECT count(*)::int AS n FROM offers WHERE market = 'H100-80GB' AND status = 'OPEN'`, [], (r: { n: number } | undefined) => (r?.n ?? 0) > 0, 60_000, "the agent's offer");
    await new Promise((r) => setTimeout(r, 2000));
    const idleKiB = rssKiB(agent.child.pid) ?? NaN;
    let peakKiB = idleKiB;
    const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB(agent.child.pid) ?? 0)), 100);
    const startMs: number[] = [];
    for (let i = 0; i < settings.starts; i++) {
      const id = await submit("H100", 3, 20);
      const row = await waitRow<{ created: number; started: number | null; status: string }>(
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

    // -- failover
    say(`bench agent: ${settings.failovers} failovers (lease ${LEASE_S} s)`);
    const backup = startAgent({ api: url, apiKey: await keyOf(), name: "bench-backup", region: "eu-central", gpus: "NVIDIA A100 80GB PCIe:80:1", price: "2.5", workDir: path.join(work, "b") });
    procs.push(backup);
    const failoverMs: number[] = [];
    for (let i = 0; i < settings.failovers; i++) {
      const victim = startAgent({ api: url, apiKey: await keyOf(), name: `bench-victim-${i}`, region: "eu-central", gpus: "NVIDIA A100 80GB PCIe:80:1", price: "2", workDir: path.join(work, `v${i}`) });
      procs.push(victim);
      await waitRow(
        `SELECT count(*)::int AS n FROM offers o JOIN nodes n ON n.id = o.node_id WHERE n.name = $1 AND o.status = 'OPEN' AND o.available_gpus > 0`,
        [`bench-victim-${i}`],
        (r: { n: number } | undefined) => (r?.n ?? 0) > 0,
        60_000,
        "the victim's offer",
      );
      await new Promise((r) => setTimeout(r, 6000)); // earlier victims' nodes go OFFLINE (HEARTBEAT_WINDOW_SECONDS=5)
      const id = await submit("A100", 400, 100);
      await waitRow(`SELECT n.name FROM assignments a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = $1 AND a.status = 'RUNNING'`, [id], (r: { name: string } | undefined) => r !== undefined, 60_000, "the job running");
      const { rows: running } = await pg.query(`SELECT n.name FROM assignments a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = $1 AND a.status = 'RUNNING'`, [id]);
      if (running[0].name !== `bench-victim-${i}`) throw new Error(`the job runs on ${running[0].name}, not on the agent about to be killed`);
      await waitRow(`SELECT count(*)::int AS n FROM checkpoints WHERE job_id = $1 AND stored_at IS NOT NULL`, [id], (r: { n: number } | undefined) => (r?.n ?? 0) >= 2, 60_000, "checkpoints");
      const killedAt = Date.now();
      victim.child.kill("SIGKILL");
      const row = await waitRow<{ started: number | null; resumed: number | null }>(
        `SELECT extract(epoch FROM started_at) * 1000 AS started, resumed_from_step AS resumed FROM assignments
          WHERE job_id = $1 AND started_at > to_timestamp($2::double precision / 1000) ORDER BY started_at LIMIT 1`,
        [id, killedAt],
        (r) => r?.started !== null && r?.started !== undefined,
        60_000,
        "the takeover",
      );
      failoverMs.push(Number(row.started) - killedAt);
      await must(url, "cancelJob", contractOperation("jobs.graphql", "CancelJob"), { id }, clientToken);
    }
    failoverMs.sort((a, b) => a - b);

    const target = (LEASE_S + 5) * 1000;
    const body = [
      "## Agent: assignment to start, memory, failover",
      "",
      `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/agent.ts): the marketplace (\`dist/api/bin/main.js\`, LEASE_SECONDS=${LEASE_S},`,
      "LEASE_SWEEP_MS=250, HEARTBEAT_WINDOW_SECONDS=5) and real agents (`dist/agent/cli.js`, process executor, declared GPUs, heartbeats every 1 s, polling every 1 s",
      `beside the subscription) on this machine (${os.cpus().length} cores, Node ${process.version}). The workload is agent/examples/checkpoint-counter.js.`,
      "",
      "| measure | n | p50 | p99 / max | target |",
      "|---|---:|---:|---:|---|",
      `| assignment created -> StartAssignment (workload spawned next) | ${startMs.length} | ${fmt(pct(startMs, 50))} ms | ${fmt(pct(startMs, 99))} ms | - |`,
      `| agent RSS idle / peak with up to 4 jobs running | 1 | ${fmt(idleKiB / 1024, 1)} MiB | ${fmt(peakKiB / 1024, 1)} MiB | - |`,
      `| SIGKILL of the running agent -> job RUNNING on another agent | ${failoverMs.length} | ${fmt(pct(failoverMs, 50) / 1000, 2)} s | ${fmt(failoverMs.at(-1)! / 1000, 2)} s | lease + 5 s = ${LEASE_S + 5} s |`,
      "",
      `- failover within lease + 5 s: **${failoverMs.at(-1)! <= target ? "PASS" : "MISS"}** (worst ${fmt(failoverMs.at(-1)! / 1000, 2)} s)`,
      "",
      "Failover is the lease (the server hears nothing for LEASE_SECONDS), then the sweep (every 250 ms), matching, and the",
      "other agent's delivery (subscription, or its 1 s poll) and start with the checkpoint download.",
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (settings.output !== "-") writeSections(settings.output, [["agent", body]]);
    return 0;
  } finally {
    await pg.end().catch(() => undefined);
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
