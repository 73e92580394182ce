import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actor, eventually, freshModel, type Actor } from "../builders";
import { op } from "../contract";
import { checkpointCounterHash } from "../workloads";
import { gql, startTestServer, wsClient, type TestServer } from "../harness";

jest.setTimeout(240_000);

const ROOT = join(__dirname, "..", "..", "..");
const STEPS = 24;
const STEP_MS = 250;

let server: TestServer;
let workDir: string;
const agents: ChildProcess[] = [];
const logs = new Map<string, string[]>();

beforeAll(async () => {
  // the lease as long as production's: only the heartbeat detector (a node silent 3 s) can take the job over in time
  workDir = mkdtempSync(join(tmpdir(), "gx-agents-"));
  // a blob store of its own: the checkpoints are the same bytes on every run, and a content-addressed store shared
  // with earlier runs would already hold them
  server = await startTestServer({ LEASE_SECONDS: "60", FAILOVER_SILENCE_SECONDS: "3", LEASE_SWEEP_MS: "200", DATA_DIR: join(workDir, "data") });
});

afterAll(async () => {
  for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill("SIGKILL");
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** A real agent process (`agent/cli.ts`) with the process executor and declared GPUs. */
function startAgent(name: string, key: string, gpu: string, price: string): ChildProcess {
  const args = ["-r", "@swc-node/register", join(ROOT, "agent/cli.ts"), "--api", server.url, "--api-key", key, "--name", name, "--region", "eu-central"];
  args.push("--gpus", gpu, "--price", price, "--executor", "process", "--work-dir", join(workDir, name), "--heartbeat-s", "1", "--poll-s", "1", "--log-level", "info");
  if (process.getuid?.() === 0) args.push("--allow-root");
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: workDir }, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  logs.set(name, log);
  child.stdout!.on("data", (d) => log.push(String(d)));
  child.stderr!.on("data", (d) => log.push(String(d)));
  agents.push(child);
  return child;
}

async function jobOf(client: Actor, id: string) {
  const r = await gql(server.url, `query J($id: ID!) { job(id: $id) { status result { hash } checkpoints { step } assignments { status attempt resumedFromStep node { id } } } }`, { id }, client.token);
  return r.data!.job;
}

it("a checkpointing job survives a SIGKILLed agent: its missed heartbeats hand it to another agent, which resumes after step 0 and returns the uninterrupted result", async () => {
  const m = freshModel(48);
  const gpu = `NVIDIA ${m.model}:48:1`;
  const provider = await actor(server);
  const keyA = (await gql(server.url, op("CreateApiKey"), { name: "agent-a" }, provider.token)).data!.createApiKey.secret as string;
  const keyB = (await gql(server.url, op("CreateApiKey"), { name: "agent-b" }, provider.token)).data!.createApiKey.secret as string;
  const a = startAgent("agent-a", keyA, gpu, "2");
  await eventually(async () => {
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    return book.data?.orderBook.asks.length === 1 ? true : undefined;
  }, 30_000, "agent A's offer on the book");

  const client = await actor(server, 100n);
  const submitted = await gql(
    server.url,
    op("SubmitJob"),
    {
      input: {
        kind: "BATCH",
        command: [process.execPath, join(ROOT, "agent/examples/checkpoint-counter.js")],
        env: [{ name: "STEPS", value: String(STEPS) }, { name: "STEP_MS", value: String(STEP_MS) }],
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  const jobId = submitted.data!.submitJob.id as string;

  const ws = wsClient(server.wsUrl, `Bearer ${client.token}`);
  const events: { status: string; progress: number; assignmentId: string | null; at: string }[] = [];
  ws.subscribe({ query: op("JobProgress"), variables: { jobId } }, { next: (v) => events.push((v.data as { jobProgress: (typeof events)[number] }).jobProgress), error: () => undefined, complete: () => undefined });

  await eventually(async () => ((await jobOf(client, jobId)).checkpoints.length >= 4 ? true : undefined), 30_000, "checkpoints from agent A");
  a.kill("SIGKILL");
  startAgent("agent-b", keyB, gpu, "2.5");

  const done = await eventually(async () => {
    const j = await jobOf(client, jobId);
    return j.status === "COMPLETED" || j.status === "FAILED" ? j : undefined;
  }, 60_000, "the job to finish on agent B").catch((e) => {
    throw new Error(`${e.message}\nagent A:\n${logs.get("agent-a")?.join("").slice(-3000)}\nagent B:\n${logs.get("agent-b")?.join("").slice(-3000)}`);
  });
  ws.dispose();

  expect(done.status).toBe("COMPLETED");
  expect(done.result.hash).toBe(checkpointCounterHash(STEPS));
  expect(done.assignments.map((x: { status: string; attempt: number }) => [x.status, x.attempt])).toEqual([["EXPIRED", 1], ["COMPLETED", 2]]);
  expect(done.assignments[1].resumedFromStep).toBeGreaterThan(0);
  expect(done.assignments[0].node.id).not.toBe(done.assignments[1].node.id);
  const [expired] = await server.system.db.query(`SELECT fail_reason FROM assignments WHERE job_id = $1 AND status = 'EXPIRED'`, [jobId]);
  expect(expired.fail_reason).toBe("the node stopped sending heartbeats");
  // progress over the subscription: in time order, and never backwards within an attempt
  const times = events.map((e) => Date.parse(e.at));
  expect(times).toEqual([...times].sort((x, y) => x - y));
  const byAttempt = new Map<string, number[]>();
  for (const e of events) if (e.assignmentId && e.status === "RUNNING") byAttempt.set(e.assignmentId, [...(byAttempt.get(e.assignmentId) ?? []), e.progress]);
  expect(byAttempt.size).toBe(2);
  for (const series of byAttempt.values()) expect(series).toEqual([...series].sort((x, y) => x - y));
  expect(events.at(-1)!.status).toBe("COMPLETED");
});

it("an agent SIGKILLed while it uploads a 1 GiB checkpoint: nothing half-written is stored or served, and the takeover resumes from the previous whole checkpoint", async () => {
  const m = freshModel(48);
  const gpu = `NVIDIA ${m.model}:48:1`;
  const provider = await actor(server);
  const keyC = (await gql(server.url, op("CreateApiKey"), { name: "agent-c" }, provider.token)).data!.createApiKey.secret as string;
  const keyD = (await gql(server.url, op("CreateApiKey"), { name: "agent-d" }, provider.token)).data!.createApiKey.secret as string;
  const c = startAgent("agent-c", keyC, gpu, "2");
  await eventually(async () => ((await gql(server.url, op("OrderBook"), { market: m.market })).data?.orderBook.asks.length === 1 ? true : undefined), 30_000, "agent C's offer");
  const client = await actor(server, 100n);
  const steps = 8;
  const submitted = await gql(
    server.url,
    op("SubmitJob"),
    {
      input: {
        kind: "BATCH",
        command: [process.execPath, join(ROOT, "agent/examples/checkpoint-counter.js")],
        env: [
          { name: "STEPS", value: String(steps) },
          { name: "STEP_MS", value: "300" },
          { name: "PAD_STEP", value: "2" },
          { name: "PAD_MB", value: "1024" },
        ],
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  const jobId = submitted.data!.submitJob.id as string;
  // a checkpoint this big goes resumably: its bytes are staged in uploads/ (kept for a resume), never under blobs/
  const stagedDir = join(server.system.config.DATA_DIR, "uploads");
  const partial = () => (existsSync(stagedDir) ? readdirSync(stagedDir).filter((f) => (statSync(join(stagedDir, f), { throwIfNoEntry: false })?.size ?? 0) > 64 * 1024 * 1024) : []);
  // the 1 GiB checkpoint of step 2 is reserved and its bytes are on their way into the store
  const writing = await eventually(async () => {
    const [big] = await server.system.db.query(`SELECT stored_at FROM checkpoints WHERE job_id = $1 AND step = 2`, [jobId]);
    const parts = partial();
    return big && big.stored_at === null && parts.length > 0 ? parts : undefined;
  }, 90_000, "the big checkpoint's upload under way");
  c.kill("SIGKILL");
  const [big] = await server.system.db.query(`SELECT sha256, size_bytes FROM checkpoints WHERE job_id = $1 AND step = 2`, [jobId]);
  expect(Number(big.size_bytes)).toBeGreaterThan(1024 * 1024 * 1024);
  // the broken upload is kept staged for a resume, and nothing of it is a blob or stored
  const sha = big.sha256.trim() as string;
  expect(writing).toEqual([expect.stringMatching(new RegExp(`^checkpoint-[0-9a-f-]{36}\\.${sha}\\.${big.size_bytes}\\.part$`))]);
  expect(existsSync(join(server.system.config.DATA_DIR, "blobs", sha.slice(0, 2), sha))).toBe(false);
  expect((await server.system.db.query(`SELECT stored_at FROM checkpoints WHERE job_id = $1 AND step = 2`, [jobId]))[0].stored_at).toBeNull();

  startAgent("agent-d", keyD, gpu, "2.5");
  const done = await eventually(async () => {
    const j = await jobOf(client, jobId);
    return j.status === "COMPLETED" || j.status === "FAILED" ? j : undefined;
  }, 150_000, "the job to finish on agent D").catch((e) => {
    throw new Error(`${e.message}\nagent C:\n${logs.get("agent-c")?.join("").slice(-3000)}\nagent D:\n${logs.get("agent-d")?.join("").slice(-3000)}`);
  });
  expect(done.status).toBe("COMPLETED");
  expect(done.result.hash).toBe(checkpointCounterHash(steps));
  expect(done.assignments.map((x: { status: string }) => x.status)).toEqual(["EXPIRED", "COMPLETED"]);
  // the previous whole checkpoint: step 1 (step 2 never arrived whole)
  expect(done.assignments[1].resumedFromStep).toBe(1);
});
