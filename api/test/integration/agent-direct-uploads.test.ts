/**
 * Direct uploads end to end: the marketplace on S3 (s3rver behind the SigV4 gate, as S3 and MinIO check presigned
 * URLs), a real agent, and a client. The client's input, the agent's outputs and its checkpoints go to the store by
 * presigned PUT, and the API only moves bytes inside the store (CopyObject from the staging key): the store's request
 * log shows it. Bytes that are not the declared ones are refused at submitJob and never become a blob.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { createS3BlobStore, ensureBucket } from "../../storage/s3-store";
import { agentProcesses } from "../agent-processes";
import { actor, eventually, freshModel, type Actor } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";
import { signatureGate } from "../s3-signature-gate";

jest.setTimeout(300_000);

const ROOT = join(__dirname, "..", "..", "..");
const OUTPUT_MB = 24;
const BUCKET = "gx-direct";
const KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** A request the store received: presigned (no Authorization header) or signed by the API, and what it moved. */
interface StoreRequest {
  method: string;
  path: string;
  presigned: boolean;
  copy: boolean;
  bytes: number;
}

let server: TestServer;
let workDir: string;
let store: Server;
let storePort: number;
const seen: StoreRequest[] = [];
const agents = agentProcesses(() => server.url, () => workDir);

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "gx-direct-"));
  const s3 = new S3rver({ silent: true, directory: join(workDir, "s3") });
  const gate = signatureGate(KEYS.secretAccessKey, s3.callback());
  store = createServer((req, res) => {
    seen.push({
      method: req.method ?? "",
      path: (req.url ?? "").split("?")[0],
      presigned: !req.headers.authorization,
      copy: req.headers["x-amz-copy-source"] !== undefined,
      bytes: Number(req.headers["content-length"] ?? 0),
    });
    gate(req, res);
  });
  await new Promise<void>((resolve) => store.listen(0, "127.0.0.1", resolve));
  storePort = (store.address() as AddressInfo).port;
  await ensureBucket(s3Options());
  server = await startTestServer({
    BLOB_STORE: "s3",
    S3_ENDPOINT: `http://127.0.0.1:${storePort}`,
    S3_BUCKET: BUCKET,
    S3_ACCESS_KEY_ID: KEYS.accessKeyId,
    S3_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
  });
});

afterAll(async () => {
  agents.killAll();
  await server?.stop();
  store.closeAllConnections();
  await new Promise((resolve) => store.close(resolve));
  rmSync(workDir, { recursive: true, force: true });
});

const s3Options = () => ({ endpoint: `http://127.0.0.1:${storePort}`, region: "us-east-1", bucket: BUCKET, ...KEYS, forcePathStyle: true });
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

async function agentFor(name: string): Promise<string> {
  const m = freshModel(48);
  const provider = await actor(server);
  const key = (await gql(server.url, op("CreateApiKey"), { name }, provider.token)).data!.createApiKey.secret as string;
  agents.start(name, key, `NVIDIA ${m.model}:48:1`);
  await eventually(async () => {
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    return (book.data?.orderBook.asks as unknown[] | undefined)?.length ? true : undefined;
  }, 60_000, `${name}'s offer on the book`);
  return m.model;
}

async function reserveInput(client: Actor, name: string, bytes: Buffer): Promise<{ id: string; url: string }> {
  const created = await gql(server.url, op("CreateInputUpload"), { input: { name, sizeBytes: String(bytes.length), sha256: sha256(bytes) } }, client.token);
  expect(created.errors).toBeUndefined();
  return { id: created.data!.createInputUpload.artifact.id as string, url: created.data!.createInputUpload.uploadUrl as string };
}

const submitWith = (client: Actor, model: string, inputId: string, command: string[], env: { name: string; value: string }[]) =>
  gql(
    server.url,
    op("SubmitJobWithInputs"),
    {
      input: {
        kind: "BATCH",
        command,
        env,
        inputs: [{ artifactId: inputId, path: "params.json" }],
        requirements: { gpuCount: 1, minVramGb: 48, gpuModels: [model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );

const ended = (client: Actor, jobId: string) =>
  eventually(async () => {
    const job = (await gql(server.url, `query J($id: ID!) { job(id: $id) { status statusMessage checkpoints { step sha256 } } }`, { id: jobId }, client.token)).data!.job;
    return ["COMPLETED", "FAILED"].includes(job.status) ? job : undefined;
  }, 180_000, "the job to end");

it("a client's input, an agent's outputs and its checkpoints go straight to the store; the API only copies inside it", async () => {
  const model = await agentFor("direct-a");
  const client = await actor(server, 100n);
  const params = Buffer.from('{"lr":0.03}');
  const input = await reserveInput(client, "params.json", params);
  expect(new URL(input.url).port).toBe(String(storePort));
  expect((await fetch(input.url, { method: "PUT", body: params })).status).toBe(200);

  const submitted = await submitWith(client, model, input.id, [process.execPath, join(ROOT, "agent/examples/data-job.js")], [
    { name: "OUTPUT_MB", value: String(OUTPUT_MB) },
    { name: "LOG_LINES", value: "5" },
  ]);
  expect(submitted.errors).toBeUndefined();
  const job = await ended(client, submitted.data!.submitJob.id as string);
  expect(job.status).toBe("COMPLETED");

  const outputs = (await gql(server.url, op("JobOutputs"), { id: submitted.data!.submitJob.id }, client.token)).data!.job.outputs as { name: string; sha256: string; sizeBytes: string; downloadUrl: string }[];
  expect(outputs.map((o) => o.name).sort()).toEqual(["data/big.bin", "inputs.txt", "result"]);
  for (const o of outputs) {
    expect(new URL(o.downloadUrl).port).toBe(String(storePort));
    expect(sha256(Buffer.from(await (await fetch(o.downloadUrl)).arrayBuffer()))).toBe(o.sha256);
  }
  // the workload saw the input whole
  const listing = outputs.find((o) => o.name === "inputs.txt")!;
  expect(Buffer.from(await (await fetch(listing.downloadUrl)).arrayBuffer()).toString()).toBe(`${sha256(params)} params.json\n`);

  // the bytes went by presigned PUT to staging keys; the API's own PUTs to blob keys are copies without a body
  const stagedPuts = seen.filter((r) => r.method === "PUT" && r.path.includes("/blobs/staged/"));
  expect(stagedPuts.every((r) => r.presigned)).toBe(true);
  expect(stagedPuts.filter((r) => r.path.includes("/staged/output-")).reduce((n, r) => n + r.bytes, 0)).toBeGreaterThanOrEqual(OUTPUT_MB * 1024 * 1024);
  expect(stagedPuts.some((r) => r.path.includes("/staged/input-"))).toBe(true);
  const apiWrites = seen.filter((r) => (r.method === "PUT" || r.method === "POST") && !r.presigned && r.path.startsWith(`/${BUCKET}/blobs/`));
  expect(apiWrites.length).toBeGreaterThanOrEqual(4);
  expect(apiWrites.filter((r) => !r.copy || r.bytes > 0)).toEqual([]);
  // each staged object was removed once it was counted
  const deleted = new Set(seen.filter((r) => r.method === "DELETE" && !r.presigned).map((r) => r.path));
  expect([...new Set(stagedPuts.map((r) => r.path))].filter((path) => !deleted.has(path))).toEqual([]);

  // checkpoints of another job take the same path
  seen.length = 0;
  const second = await reserveInput(client, "params.json", params);
  expect((await fetch(second.url, { method: "PUT", body: params })).status).toBe(200);
  const counter = await submitWith(client, model, second.id, [process.execPath, join(ROOT, "agent/examples/checkpoint-counter.js")], [
    { name: "STEPS", value: "3" },
    { name: "STEP_MS", value: "50" },
  ]);
  expect(counter.errors).toBeUndefined();
  const counted = await ended(client, counter.data!.submitJob.id as string);
  expect(counted.status).toBe("COMPLETED");
  expect((counted.checkpoints as { step: number }[]).length).toBeGreaterThan(0);
  const checkpointPuts = seen.filter((r) => r.method === "PUT" && r.path.includes("/blobs/staged/checkpoint-"));
  expect(checkpointPuts.length).toBe((counted.checkpoints as unknown[]).length);
  expect(checkpointPuts.every((r) => r.presigned)).toBe(true);
  for (const c of counted.checkpoints as { sha256: string }[]) {
    expect(await storedBlobHash(c.sha256)).toBe(c.sha256);
  }
});

it("bytes that are not the declared ones, sent straight to the store, are refused at submitJob and never become the blob", async () => {
  const model = await agentFor("direct-b");
  const client = await actor(server, 100n);
  const params = Buffer.from('{"lr":0.04,"pad":"................"}');
  const input = await reserveInput(client, "params.json", params);
  const altered = Buffer.from(params);
  altered[5] ^= 1;
  expect((await fetch(input.url, { method: "PUT", body: altered })).status).toBe(200);

  const refused = await submitWith(client, model, input.id, [process.execPath, "-e", "1"], []);
  expect(refused.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  expect(refused.errors?.[0].message).toMatch(/does not match/);
  expect(await storedBlobHash(sha256(params))).toBeUndefined();
  const mine = await gql(server.url, "query { myJobs(first: 50) { edges { cursor } } }", {}, client.token);
  expect(mine.data!.myJobs.edges).toEqual([]);

  // not uploaded at all: the same answer as ever
  const none = await submitWith(client, model, input.id, [process.execPath, "-e", "1"], []);
  expect(none.errors?.[0].message).toMatch(/not uploaded yet/);

  // the same URL takes the right bytes while it lives
  expect((await fetch(input.url, { method: "PUT", body: params })).status).toBe(200);
  const accepted = await submitWith(client, model, input.id, [process.execPath, "-e", "1"], []);
  expect(accepted.errors).toBeUndefined();
  expect(await storedBlobHash(sha256(params))).toBe(sha256(params));
});

/** The sha256 of blob `sha`'s bytes as the store gives them back, or undefined when it is not there. */
async function storedBlobHash(sha: string): Promise<string | undefined> {
  const s3 = createS3BlobStore(s3Options());
  if (!(await s3.stat(sha))) return undefined;
  const hash = createHash("sha256");
  for await (const chunk of await s3.read(sha)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
