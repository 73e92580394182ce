import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { gql, type GqlResponse, type TestServer } from "../harness";

/** Helpers for the data plane's end-to-end tests: bytes as clients and agents move them. */

export const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** A data folder of the test's own (another Postgres cluster's tests use the same database names). */
export const dataDir = (label: string) => join(tmpdir(), "gx-e2e-data", `${label}-${process.pid}-${randomBytes(3).toString("hex")}`);

/** The manifest as agent/README.md writes it: `<sha256> <size> <name>\n` per file, sorted by the names' UTF-8 bytes. */
export function manifestOf(files: readonly { name: string; bytes: Buffer }[]): string {
  return [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")))
    .map((f) => `${sha(f.bytes)} ${f.bytes.length} ${f.name}\n`)
    .join("");
}

export function must<T>(r: GqlResponse<T>): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!;
}

export async function put(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: "PUT", body, headers: { "content-type": "application/octet-stream", ...headers } });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

export async function getBytes(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** Reserves an input and PUTs its bytes; returns the artifact's id. */
export async function uploadInput(server: TestServer, who: Actor, name: string, bytes: Buffer): Promise<string> {
  const r = must(await gql(server.url, op("CreateInputUpload"), { input: { name, sizeBytes: String(bytes.length), sha256: sha(bytes) } }, who.token));
  const stored = await put(r.createInputUpload.uploadUrl, bytes);
  if (stored.status !== 201) throw new Error(`input upload: ${stored.status} ${JSON.stringify(stored.body)}`);
  return r.createInputUpload.artifact.id as string;
}

export interface Running {
  assignmentId: string;
  jobId: string;
}

/** Waits for the node's next assignment (as the agent polls PendingAssignments) and starts it. */
export async function startNext(server: TestServer, provider: Actor, nodeId: string): Promise<{ id: string; job: { id: string } }> {
  const a = await eventually(
    async () => (must(await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).assignments as { id: string; job: { id: string } }[])[0],
    20_000,
    "an assignment",
  );
  const started = must(await gql(server.url, op("StartAssignment"), { id: a.id }, provider.token));
  if (started.startAssignment.status !== "RUNNING") throw new Error(`not running: ${JSON.stringify(started)}`);
  return a;
}

/** A provider with an online node in a market of its own, a funded client, and a job of theirs running on the node. */
export async function runningJob(server: TestServer, extra: Record<string, unknown> = {}, client?: Actor) {
  const m = freshModel();
  const provider = await actor(server);
  const { nodeId } = await onlineOffer(server, provider, m.gpu(1), "2", 1);
  const owner = client ?? (await actor(server, 100n));
  const submitted = await gql(server.url, op(extra.inputs ? "SubmitJobWithInputs" : "SubmitJob"), { input: jobInput(m.model, {}, extra) }, owner.token);
  const jobId = must(submitted).submitJob.id as string;
  const a = await startNext(server, provider, nodeId);
  return { m, provider, nodeId, client: owner, jobId, assignmentId: a.id };
}

/** Reserves and PUTs outputs of an assignment as the agent does. */
export async function uploadOutputs(server: TestServer, provider: Actor, assignmentId: string, files: readonly { name: string; bytes: Buffer }[]): Promise<void> {
  for (const f of files) {
    const r = must(await gql(server.url, op("CreateOutputUpload"), { id: assignmentId, name: f.name, sha256: sha(f.bytes), sizeBytes: String(f.bytes.length) }, provider.token));
    const stored = await put(r.createOutputUpload.uploadUrl, f.bytes);
    if (stored.status !== 201 && stored.status !== 200) throw new Error(`output upload ${f.name}: ${stored.status} ${JSON.stringify(stored.body)}`);
  }
}
