import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { actor, eventually, freshModel, type Actor } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, wsClient, type TestServer } from "../harness";

jest.setTimeout(240_000);

const ROOT = join(__dirname, "..", "..", "..");
const OUTPUT_MB = 300;
const LOG_LINES = 100;

let server: TestServer;
let workDir: string;
const agents: ChildProcess[] = [];
const agentLogs = new Map<string, string[]>();

beforeAll(async () => {
  server = await startTestServer({ LEASE_SECONDS: "60", FAILOVER_SILENCE_SECONDS: "10", LEASE_SWEEP_MS: "500" });
  workDir = mkdtempSync(join(tmpdir(), "gx-data-agents-"));
});

afterAll(async () => {
  for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill("SIGKILL");
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
});

function startAgent(name: string, key: string, gpu: string, price: string): ChildProcess {
  const args = ["-r", "@swc-node/register", join(ROOT, "agent/cli.ts"), "--api", server.url, "--api-key", key, "--name", name, "--region", "eu-central"];
  args.push("--gpus", gpu, "--price", price, "--executor", "process", "--work-dir", join(workDir, name), "--heartbeat-s", "1", "--poll-s", "1", "--log-level", "info");
  if (process.getuid?.() === 0) args.push("--allow-root");
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: workDir }, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  agentLogs.set(name, log);
  child.stdout!.on("data", (d) => log.push(String(d)));
  child.stderr!.on("data", (d) => log.push(String(d)));
  agents.push(child);
  return child;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** big.bin as agent/examples/data-job.js documents it, hashed here block by block (never held whole). */
function expectedBig(mb: number, alterFirstByte = false): { sha256: string; lastMiB: Buffer } {
  const hash = createHash("sha256");
  let last = Buffer.alloc(0);
  for (let i = 0; i < mb; i++) {
    const seed = createHash("sha256").update(`gx:${i}`).digest();
    const block = Buffer.alloc(1024 * 1024);
    for (let o = 0; o < block.length; o += seed.length) seed.copy(block, o);
    if (alterFirstByte && i === 0) block[0] ^= 0xff;
    hash.update(block);
    last = block;
  }
  return { sha256: hash.digest("hex"), lastMiB: last };
}

/** Resident memory of a process in bytes (Linux). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

async function offerOf(provider: Actor, name: string, model: string, market: string, count = 1): Promise<ChildProcess> {
  const key = (await gql(server.url, op("CreateApiKey"), { name }, provider.token)).data!.createApiKey.secret as string;
  const child = startAgent(name, key, `NVIDIA ${model}:48:1`, "2");
  await eventually(async () => {
    const book = await gql(server.url, op("OrderBook"), { market });
    return (book.data?.orderBook.asks as { orders: number }[] | undefined)?.reduce((n, l) => n + l.orders, 0) === count ? true : undefined;
  }, 60_000, `${name}'s offer on the book`);
  return child;
}

async function upload(client: Actor, name: string, bytes: Buffer): Promise<string> {
  const created = await gql(server.url, op("CreateInputUpload"), { input: { name, sizeBytes: String(bytes.length), sha256: sha256(bytes) } }, client.token);
  expect(created.errors).toBeUndefined();
  const put = await fetch(created.data!.createInputUpload.uploadUrl, { method: "PUT", body: bytes });
  expect(put.status).toBe(201);
  return created.data!.createInputUpload.artifact.id as string;
}

async function hashDownload(url: string, headers: Record<string, string> = {}): Promise<{ status: number; sha256: string; size: number }> {
  const res = await fetch(url, { headers });
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { status: res.status, sha256: hash.digest("hex"), size };
}

it(`a job with input files writes a ${OUTPUT_MB} MiB output and a log line every 100 ms: the client follows the logs live, downloads the outputs whole and by range, and memory stays flat`, async () => {
  const m = freshModel(48);
  const provider = await actor(server);
  const agent = await offerOf(provider, "data-a", m.model, m.market);
  const client = await actor(server, 100n);
  const params = Buffer.from(JSON.stringify({ lr: 0.001, epochs: 3 }));
  const weights = Buffer.alloc(3 * 1024 * 1024, 7);
  const inputs = [
    { artifactId: await upload(client, "params.json", params), path: "config/params.json" },
    { artifactId: await upload(client, "weights.bin", weights), path: "weights.bin" },
  ];
  const submitted = await gql(
    server.url,
    op("SubmitJobWithInputs"),
    {
      input: {
        kind: "BATCH",
        command: [process.execPath, join(ROOT, "agent/examples/data-job.js")],
        env: [
          { name: "OUTPUT_MB", value: String(OUTPUT_MB) },
          { name: "LOG_LINES", value: String(LOG_LINES) },
          { name: "LOG_MS", value: "100" },
        ],
        inputs,
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  const jobId = submitted.data!.submitJob.id as string;
  expect(submitted.data!.submitJob.inputs).toEqual(
    expect.arrayContaining([expect.objectContaining({ path: "config/params.json", sha256: sha256(params), sizeBytes: String(params.length) })]),
  );

  // the logs, live, from the start
  const live: { seq: string; stream: string; line: string }[] = [];
  let liveDone = false;
  const ws = wsClient(server.wsUrl, client.token);
  ws.subscribe(
    { query: op("JobLogs"), variables: { jobId } },
    { next: (v) => live.push((v.data as { jobLogs: (typeof live)[number] }).jobLogs), error: (e) => live.push({ seq: "error", stream: "", line: JSON.stringify(e) }), complete: () => (liveDone = true) },
  );
  const apiBase = process.memoryUsage().rss;
  const agentBase = rssOf(agent.pid!);
  let apiPeak = apiBase;
  let agentPeak = agentBase;
  const sampler = setInterval(() => {
    apiPeak = Math.max(apiPeak, process.memoryUsage().rss);
    if (agent.exitCode === null) agentPeak = Math.max(agentPeak, rssOf(agent.pid!));
  }, 100);
  let firstLiveAt: number | undefined;
  try {
    await eventually(async () => {
      if (live.length > 0) firstLiveAt ??= Date.now();
      const r = await gql(server.url, `query J($id: ID!) { job(id: $id) { status assignments { status failReason } } }`, { id: jobId }, client.token);
      const status = r.data!.job.status as string;
      if (status === "FAILED") throw new Error(`the job failed: ${JSON.stringify(r.data!.job.assignments)}\n${agentLogs.get("data-a")!.join("").slice(-3000)}`);
      return status === "COMPLETED" ? true : undefined;
    }, 180_000, "the job to complete");
  } finally {
    clearInterval(sampler);
  }
  const completedAt = Date.now();
  await eventually(async () => (liveDone ? true : undefined), 20_000, "the log subscription to end with the job");
  ws.dispose();

  // every line once, in order, numbered 1..n; stdout and stderr, no protocol lines
  expect(live.filter((l) => l.seq === "error")).toEqual([]);
  expect(live.map((l) => Number(l.seq))).toEqual(Array.from({ length: live.length }, (_, i) => i + 1));
  expect(live.filter((l) => l.stream === "STDOUT").map((l) => l.line)).toEqual(Array.from({ length: LOG_LINES }, (_, i) => `log ${i}`));
  expect(live.filter((l) => l.stream === "STDERR").map((l) => l.line)).toEqual(Array.from({ length: LOG_LINES / 10 }, (_, i) => `stderr ${i * 10}`));
  expect(live.some((l) => l.line.startsWith("progress"))).toBe(false);
  // followed live: the first line came well before the job ended (10 s of lines, then the upload)
  expect(firstLiveAt).toBeDefined();
  expect(firstLiveAt!).toBeLessThan(completedAt);

  // the outputs: the manifest's sha256 is the result hash; each file whole and by range
  const job = (await gql(server.url, op("JobOutputs"), { id: jobId }, client.token)).data!.job;
  const big = expectedBig(OUTPUT_MB);
  const inputsTxt = `${sha256(params)} config/params.json\n${sha256(weights)} weights.bin\n`;
  const result = "ok 300\n";
  const manifest = [
    `${sha256(inputsTxt)} ${Buffer.byteLength(inputsTxt)} inputs.txt\n`,
    `${big.sha256} ${OUTPUT_MB * 1024 * 1024} data/big.bin\n`,
    `${sha256(result)} ${result.length} result\n`,
  ]
    .sort((a, b) => Buffer.compare(Buffer.from(a.split(" ")[2]), Buffer.from(b.split(" ")[2])))
    .join("");
  expect(job.result).toMatchObject({ hash: sha256(manifest), agreedBy: 1, sizeBytes: String(OUTPUT_MB * 1024 * 1024 + Buffer.byteLength(inputsTxt) + result.length) });
  expect(await (await fetch(job.result.downloadUrl)).text()).toBe(manifest);
  const byName = new Map((job.outputs as { name: string; sha256: string; sizeBytes: string; downloadUrl: string }[]).map((o) => [o.name, o]));
  expect([...byName.keys()].sort()).toEqual(["data/big.bin", "inputs.txt", "result"]);
  expect(await (await fetch(byName.get("inputs.txt")!.downloadUrl)).text()).toBe(inputsTxt);
  const apiBeforeDownload = process.memoryUsage().rss;
  const whole = await hashDownload(byName.get("data/big.bin")!.downloadUrl);
  const apiAfterDownload = process.memoryUsage().rss;
  expect(whole).toEqual({ status: 200, sha256: big.sha256, size: OUTPUT_MB * 1024 * 1024 });
  const lastStart = (OUTPUT_MB - 1) * 1024 * 1024;
  const tail = await fetch(byName.get("data/big.bin")!.downloadUrl, { headers: { Range: `bytes=${lastStart}-` } });
  expect(tail.status).toBe(206);
  expect(Buffer.from(await tail.arrayBuffer()).equals(big.lastMiB)).toBe(true);
  // the kept lines afterwards: the last ones, oldest first
  expect((job.logs as { line: string }[]).map((l) => l.line)).toEqual(live.slice(-200).map((l) => l.line));

  const mib = (n: number) => Math.round(n / 1024 / 1024);
  process.stdout.write(
    `agent-data: ${OUTPUT_MB} MiB output + ${live.length} log lines; agent RSS ${mib(agentBase)} -> peak ${mib(agentPeak)} MiB; ` +
      `API process (in the test) RSS ${mib(apiBase)} -> peak ${mib(apiPeak)} MiB while it ran and uploaded; ` +
      `download of ${OUTPUT_MB} MiB moved the API process's RSS ${mib(apiBeforeDownload)} -> ${mib(apiAfterDownload)} MiB\n`,
  );
  // memory that does not grow with the file: neither holds the 300 MiB, nor a large part of it
  expect(agentPeak - agentBase).toBeLessThan(120 * 1024 * 1024);
  expect(apiPeak - apiBase).toBeLessThan(150 * 1024 * 1024);
});

it("with redundancy 3, a provider whose output differs in one byte is REJECTED and the client downloads the majority's bytes", async () => {
  const m = freshModel(48);
  const providers = await Promise.all([actor(server), actor(server), actor(server)]);
  await offerOf(providers[0], "honest-1", m.model, m.market, 1);
  await offerOf(providers[1], "honest-2", m.model, m.market, 2);
  await offerOf(providers[2], "liar-3", m.model, m.market, 3);
  const client = await actor(server, 100n);
  const submitted = await gql(
    server.url,
    op("SubmitJob"),
    {
      input: {
        kind: "BATCH",
        command: [process.execPath, join(ROOT, "agent/examples/data-job.js")],
        env: [
          { name: "OUTPUT_MB", value: "2" },
          { name: "LOG_LINES", value: "3" },
          { name: "LOG_MS", value: "10" },
          { name: "ALTER_WHEN", value: "liar-3" },
        ],
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600, redundancy: 3 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  const jobId = submitted.data!.submitJob.id as string;
  const ended = await eventually(async () => {
    const r = await gql(server.url, `query J($id: ID!) { job(id: $id) { status assignments { status provider { address } } } }`, { id: jobId }, client.token);
    return ["COMPLETED", "FAILED"].includes(r.data!.job.status) ? r.data!.job : undefined;
  }, 120_000, "the redundant job to end");
  expect(ended.status).toBe("COMPLETED");
  const byProvider = new Map((ended.assignments as { status: string; provider: { address: string } }[]).map((a) => [a.provider.address.toLowerCase(), a.status]));
  expect(byProvider.get(providers[2].wallet.address.toLowerCase())).toBe("REJECTED");
  expect(byProvider.get(providers[0].wallet.address.toLowerCase())).toBe("COMPLETED");
  expect(byProvider.get(providers[1].wallet.address.toLowerCase())).toBe("COMPLETED");
  const job = (await gql(server.url, op("JobOutputs"), { id: jobId }, client.token)).data!.job;
  expect(job.result.agreedBy).toBe(2);
  const big = (job.outputs as { name: string; downloadUrl: string; sha256: string }[]).find((o) => o.name === "data/big.bin")!;
  const honest = expectedBig(2);
  expect(big.sha256).toBe(honest.sha256);
  expect((await hashDownload(big.downloadUrl)).sha256).toBe(honest.sha256);
  expect(expectedBig(2, true).sha256).not.toBe(honest.sha256);
});
