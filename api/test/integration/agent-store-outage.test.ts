/**
 * The blob store goes down under a real agent's job: the S3 adapter against s3rver, which is stopped mid-job (its
 * port then refuses connections) and started again on the same port and folder. The agent retries its output uploads
 * with backoff and the job completes once the store is back; when the store stays down past the agent's tries, the job
 * fails with a reason its client reads. What the store acknowledged before the outage (an input file) is served whole
 * after it.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { createS3BlobStore, ensureBucket } from "../../storage/s3-store";
import { actor, eventually, freshModel, type Actor } from "../builders";
import { op } from "../contract";
import { freePort, gql, startTestServer, type TestServer } from "../harness";
import { agentProcesses } from "../agent-processes";

jest.setTimeout(300_000);

const ROOT = join(__dirname, "..", "..", "..");
const OUTPUT_MB = 24;
const S3 = { S3_REGION: "us-east-1", S3_BUCKET: "gx-outage", S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER", S3_FORCE_PATH_STYLE: "true" };

let server: TestServer;
let workDir: string;
let s3Dir: string;
let s3Port: number;
let store: Server | undefined;
const agents = agentProcesses(() => server.url, () => workDir);

/** s3rver on `s3Port` over the same folder each time (what was stored before an outage is there after it). */
async function startStore(): Promise<void> {
  const s3 = new S3rver({ silent: true, directory: s3Dir });
  store = createServer(s3.callback());
  await new Promise<void>((resolve) => store!.listen(s3Port, "127.0.0.1", resolve));
}
async function stopStore(): Promise<void> {
  const s = store!;
  store = undefined;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
}

beforeAll(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), "gx-outage-s3-"));
  workDir = mkdtempSync(join(tmpdir(), "gx-outage-agents-"));
  s3Port = await freePort();
  await startStore();
  const endpoint = `http://127.0.0.1:${s3Port}`;
  await ensureBucket({ endpoint, region: S3.S3_REGION, bucket: S3.S3_BUCKET, accessKeyId: S3.S3_ACCESS_KEY_ID, secretAccessKey: S3.S3_SECRET_ACCESS_KEY, forcePathStyle: true });
  // one attempt per job, so a job whose only agent gives up fails (and its client reads why)
  server = await startTestServer({ BLOB_STORE: "s3", S3_ENDPOINT: endpoint, ...S3, MAX_ATTEMPTS: "1", LEASE_SECONDS: "120" });
});

afterAll(async () => {
  agents.killAll();
  await server.stop();
  if (store) await stopStore();
  rmSync(workDir, { recursive: true, force: true });
  rmSync(s3Dir, { recursive: true, force: true });
});

async function agentFor(name: string, extra: string[] = []): Promise<{ model: string; provider: Actor }> {
  const m = freshModel(48);
  const provider = await actor(server);
  const key = (await gql(server.url, op("CreateApiKey"), { name }, provider.token)).data!.createApiKey.secret as string;
  agents.start(name, key, `NVIDIA ${m.model}:48:1`, extra);
  await eventually(async () => {
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    return (book.data?.orderBook.asks as { orders: number }[] | undefined)?.length ? true : undefined;
  }, 60_000, `${name}'s offer on the book`);
  return { model: m.model, provider };
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** big.bin as agent/examples/data-job.js writes it. */
function expectedBig(mb: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < mb; i++) {
    const seed = createHash("sha256").update(`gx:${i}`).digest();
    const block = Buffer.alloc(1024 * 1024);
    for (let o = 0; o < block.length; o += seed.length) seed.copy(block, o);
    hash.update(block);
  }
  return hash.digest("hex");
}

async function submit(client: Actor, model: string, inputId: string, logLines: number): Promise<string> {
  const submitted = await gql(
    server.url,
    op("SubmitJobWithInputs"),
    {
      input: {
        kind: "BATCH",
        command: [process.execPath, join(ROOT, "agent/examples/data-job.js")],
        env: [
          { name: "OUTPUT_MB", value: String(OUTPUT_MB) },
          { name: "LOG_LINES", value: String(logLines) },
          { name: "LOG_MS", value: "100" },
        ],
        inputs: [{ artifactId: inputId, path: "params.json" }],
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  return submitted.data!.submitJob.id as string;
}

async function uploadInput(client: Actor, bytes: Buffer): Promise<{ id: string }> {
  const created = await gql(server.url, op("CreateInputUpload"), { input: { name: "params.json", sizeBytes: String(bytes.length), sha256: sha256(bytes) } }, client.token);
  expect(created.errors).toBeUndefined();
  // straight to the store (S3_DIRECT_UPLOADS is on by default): S3's own 200; submitJob counts the bytes
  const url = created.data!.createInputUpload.uploadUrl as string;
  expect(new URL(url).port).toBe(String(s3Port));
  expect((await fetch(url, { method: "PUT", body: bytes })).status).toBe(200);
  return { id: created.data!.createInputUpload.artifact.id as string };
}

const jobState = async (client: Actor, jobId: string) =>
  (await gql(server.url, `query J($id: ID!) { job(id: $id) { status statusMessage assignments { status failReason } logs(last: 500) { line } } }`, { id: jobId }, client.token)).data!.job;

/** The sha256 of the blob's bytes as the store gives them back now (read straight from s3rver). */
const storedHash = async (sha: string) => {
  const s3 = createS3BlobStore({ endpoint: `http://127.0.0.1:${s3Port}`, region: S3.S3_REGION, bucket: S3.S3_BUCKET, accessKeyId: S3.S3_ACCESS_KEY_ID, secretAccessKey: S3.S3_SECRET_ACCESS_KEY, forcePathStyle: true });
  const hash = createHash("sha256");
  for await (const chunk of await s3.read(sha)) hash.update(chunk as Buffer);
  return hash.digest("hex");
};

/** Waits for a line of the agent's log that matches. */
const agentSaid = (name: string, pattern: RegExp, what: string) => eventually(async () => (pattern.test(agents.logOf(name)) ? true : undefined), 120_000, what);

it("the store goes down while the job runs: the agent retries its uploads with backoff and the job completes once the store is back", async () => {
  const { model } = await agentFor("outage-a");
  const client = await actor(server, 100n);
  const params = Buffer.from('{"lr":0.01}');
  const input = await uploadInput(client, params);
  const jobId = await submit(client, model, input.id, 30);
  await eventually(async () => ((await jobState(client, jobId)).status === "RUNNING" ? true : undefined), 60_000, "the job to run");
  await stopStore();
  await agentSaid("outage-a", /output upload failed; will retry/, "the agent to meet the outage and retry");
  await startStore();

  const ended = await eventually(async () => {
    const job = await jobState(client, jobId);
    return ["COMPLETED", "FAILED"].includes(job.status) ? job : undefined;
  }, 180_000, "the job to end");
  expect(ended.status).toBe("COMPLETED");
  // every log line (they go to Postgres, not the store) and every output, whole
  expect((ended.logs as { line: string }[]).filter((l) => /^log \d+$/.test(l.line))).toHaveLength(30);
  const outputs = (await gql(server.url, op("JobOutputs"), { id: jobId }, client.token)).data!.job.outputs as { name: string; sha256: string; downloadUrl: string }[];
  const big = outputs.find((o) => o.name === "data/big.bin")!;
  expect(big.sha256).toBe(expectedBig(OUTPUT_MB));
  expect(sha256(Buffer.from(await (await fetch(big.downloadUrl)).arrayBuffer()))).toBe(big.sha256);
  // the input, acknowledged before the outage, is whole after it
  expect(await storedHash(sha256(params))).toBe(sha256(params));
});

it("the store stays down past the agent's tries: the job fails with a reason its client reads, and what was stored before is kept", async () => {
  const { model } = await agentFor("outage-b", ["--upload-tries", "3"]);
  const client = await actor(server, 100n);
  const params = Buffer.from('{"lr":0.02}');
  const input = await uploadInput(client, params);
  const jobId = await submit(client, model, input.id, 5);
  await eventually(async () => ((await jobState(client, jobId)).status === "RUNNING" ? true : undefined), 60_000, "the job to run");
  await stopStore();
  const ended = await eventually(async () => {
    const job = await jobState(client, jobId);
    return ["COMPLETED", "FAILED"].includes(job.status) ? job : undefined;
  }, 180_000, "the job to end").catch((err: Error) => {
    throw new Error(`${err.message}\n${agents.logOf("outage-b").slice(-4000)}`);
  });
  await startStore();
  expect(ended.status).toBe("FAILED");
  expect(ended.statusMessage).toMatch(/the store is unavailable: could not upload output .* after 3 tries/);
  expect(ended.assignments).toEqual([{ status: "FAILED", failReason: expect.stringMatching(/^the store is unavailable/) }]);
  expect(await storedHash(sha256(params))).toBe(sha256(params));
});
