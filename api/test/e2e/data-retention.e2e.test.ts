import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { actor, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { gql, startTestServer, type TestServer } from "../harness";
import { dataDir, getBytes, manifestOf, must, put, runningJob, sha, uploadInput, uploadOutputs } from "./data-plane";

jest.setTimeout(60_000);

const DATA_DIR = dataDir("retention");
const blobFile = (sha256: string) => join(DATA_DIR, "blobs", sha256.slice(0, 2), sha256);
const DAY_MS = 86_400_000;

let server: TestServer;
beforeAll(async () => {
  // a database of its own: the sweep with a clock far ahead releases everything of the database that has ended
  server = await startTestServer({ DATA_DIR, DATABASE_URL: await privateDatabaseUrl("retention"), RESULT_RETENTION_DAYS: "7", CHECKPOINTS_KEPT: "2", MAX_ATTEMPTS: "1" });
});
afterAll(() => server.stop());

async function checkpoint(provider: Actor, assignmentId: string, step: number, data: Buffer) {
  const r = must(await gql(server.url, op("CreateCheckpointUpload"), { id: assignmentId, step, sha256: sha(data), sizeBytes: String(data.length) }, provider.token));
  const stored = await put(r.createCheckpointUpload.uploadUrl, data);
  expect(stored.status).toBe(201);
}

describe("checkpoints in the blob store", () => {
  it("keeps a checkpoint's bytes in the data folder and none in Postgres", async () => {
    const columns = (await server.system.db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'checkpoints'`)).map((r: { column_name: string }) => r.column_name);
    expect(columns).not.toContain("data");
    expect(columns).toEqual(expect.arrayContaining(["sha256", "size_bytes", "stored_at", "purged_at"]));
    const byteColumns = await server.system.db.query(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'bytea' AND table_name IN ('checkpoints', 'artifacts', 'blobs', 'job_logs')`,
    );
    expect(byteColumns).toEqual([]);
    const run = await runningJob(server);
    const data = randomBytes(2048);
    await checkpoint(run.provider, run.assignmentId, 1, data);
    expect(readFileSync(blobFile(sha(data))).equals(data)).toBe(true);
  });
});

describe("the retention sweep", () => {
  it("after the retention releases an ended job's outputs, logs, inputs and checkpoints, deletes their blobs, and keeps what live work still uses", async () => {
    const client = await actor(server, 100n);
    // S is an input of both jobs and, byte for byte, an output of the one that ends; B only an input of the one that ends
    const S = randomBytes(3000);
    const B = randomBytes(3001);
    const sharedInput = await uploadInput(server, client, "shared.bin", S);
    const onlyEnded = await uploadInput(server, client, "only.bin", B);
    const ended = await runningJob(server, { inputs: [{ artifactId: sharedInput, path: "shared.bin" }, { artifactId: onlyEnded, path: "only.bin" }] }, client);
    const live = await runningJob(server, { inputs: [{ artifactId: sharedInput, path: "shared.bin" }] }, client);

    const R = randomBytes(1000);
    const files = [
      { name: "result", bytes: R },
      { name: "copy/shared.bin", bytes: S },
    ];
    const C1 = randomBytes(500);
    const C2 = randomBytes(501);
    await checkpoint(ended.provider, ended.assignmentId, 1, C1);
    const L = randomBytes(502);
    await checkpoint(live.provider, live.assignmentId, 1, L);
    await checkpoint(ended.provider, ended.assignmentId, 2, C2);
    must(await gql(server.url, op("AppendLogs"), { id: ended.assignmentId, lines: [{ stream: "STDOUT", line: "ended job's line" }] }, ended.provider.token));
    must(await gql(server.url, op("AppendLogs"), { id: live.assignmentId, lines: [{ stream: "STDOUT", line: "live job's line" }] }, live.provider.token));
    await uploadOutputs(server, ended.provider, ended.assignmentId, files);
    const hash = sha(manifestOf(files));
    must(await gql(server.url, op("CompleteAssignment"), { id: ended.assignmentId, resultHash: hash }, ended.provider.token));

    const before = must(await gql(server.url, op("JobOutputs"), { id: ended.jobId }, client.token)).job;
    const urls = Object.fromEntries(before.outputs.map((o: { name: string; downloadUrl: string }) => [o.name, o.downloadUrl]));
    expect((await getBytes(urls.result)).status).toBe(200);
    for (const bytes of [R, S, B, C1, C2, L]) expect(existsSync(blobFile(sha(bytes)))).toBe(true);

    // within the retention: the ended job's outputs and logs stay (its checkpoints and unused inputs go: it has ended)
    const soon = await server.system.services.retention.sweep(new Date(Date.now() + 6 * DAY_MS));
    expect(soon.released.outputs).toBe(0);
    expect(soon.released.logLines).toBe(0);
    const within = must(await gql(server.url, op("JobOutputs"), { id: ended.jobId }, client.token)).job;
    expect(within.outputs.every((o: { downloadUrl: string | null }) => o.downloadUrl !== null)).toBe(true);
    expect(within.result.downloadUrl).not.toBeNull();
    expect((await getBytes(urls.result)).bytes.equals(R)).toBe(true);

    const swept = await server.system.services.retention.sweep(new Date(Date.now() + 8 * DAY_MS));
    expect(swept.released.outputs).toBeGreaterThanOrEqual(2);
    expect(swept.released.logLines).toBeGreaterThanOrEqual(1);

    const after = must(await gql(server.url, op("JobOutputs"), { id: ended.jobId }, client.token)).job;
    // the hashes are kept, the URLs are not
    expect(after.result).toMatchObject({ hash, agreedBy: 1, downloadUrl: null, expiresAt: null });
    expect(after.outputs).toEqual(
      files
        .map((f) => ({ name: f.name, sizeBytes: String(f.bytes.length), sha256: sha(f.bytes), downloadUrl: null, expiresAt: null }))
        .sort((x, y) => (x.name < y.name ? -1 : 1)),
    );
    expect(after.logs).toEqual([]);
    // URLs handed out before (still within their TTL) are answered 404 now
    const gone = await getBytes(urls.result);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.bytes.toString()).error.code).toBe("NOT_FOUND");
    expect((await getBytes(urls["copy/shared.bin"])).status).toBe(404);
    expect((await getBytes(before.result.downloadUrl)).status).toBe(404);

    // the bytes: only what a live record names is left
    expect(existsSync(blobFile(sha(R)))).toBe(false);
    expect(existsSync(blobFile(sha(B)))).toBe(false);
    expect(existsSync(blobFile(sha(C1)))).toBe(false);
    expect(existsSync(blobFile(sha(C2)))).toBe(false);
    expect(existsSync(blobFile(sha(S)))).toBe(true);
    expect(existsSync(blobFile(sha(L)))).toBe(true);
    const purged = async (id: string) => (await server.system.db.query(`SELECT purged_at FROM artifacts WHERE id = $1`, [id]))[0].purged_at;
    expect(await purged(sharedInput)).toBeNull();
    expect(await purged(onlyEnded)).not.toBeNull();

    // the live job: its input downloads, its logs and checkpoint are kept
    const inputs = must(await gql(server.url, op("AssignmentInputs"), { id: live.assignmentId }, live.provider.token)).assignmentInputs;
    expect(sha((await getBytes(inputs[0].downloadUrl)).bytes)).toBe(sha(S));
    const liveLogs = must(await gql(server.url, `query L($id: ID!) { job(id: $id) { logs(last: 10) { line } } }`, { id: live.jobId }, client.token)).job.logs;
    expect(liveLogs).toEqual([{ line: "live job's line" }]);
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM checkpoints WHERE job_id = $1 AND purged_at IS NULL`, [live.jobId]);
    expect(n).toBe(1);

    // an input released cannot be named by a new job; the same bytes uploaded again are stored again
    const reuse = await gql(server.url, op("SubmitJobWithInputs"), { input: { ...(await otherMarketJob()), inputs: [{ artifactId: onlyEnded, path: "only.bin" }] } }, client.token);
    expect(reuse.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const again = await uploadInput(server, client, "only-again.bin", B);
    expect(readFileSync(blobFile(sha(B))).equals(B)).toBe(true);
    expect(await purged(again)).toBeNull();

    // a second sweep at the same time has nothing left to do
    const twice = await server.system.services.retention.sweep(new Date(Date.now() + 8 * DAY_MS), 0);
    expect(twice.released.outputs).toBe(0);
    expect(existsSync(blobFile(sha(S)))).toBe(true);
    expect(existsSync(blobFile(sha(L)))).toBe(true);
  });

  it("keeps the newest CHECKPOINTS_KEPT whole checkpoints of a running replica and deletes the older ones' bytes", async () => {
    const run = await runningJob(server);
    const steps = [randomBytes(100), randomBytes(101), randomBytes(102), randomBytes(103)];
    for (const [i, data] of steps.entries()) await checkpoint(run.provider, run.assignmentId, i + 1, data);
    await server.system.services.retention.sweep(new Date(), 0);
    const kept = await server.system.db.query(`SELECT step FROM checkpoints WHERE job_id = $1 AND purged_at IS NULL ORDER BY step`, [run.jobId]);
    expect(kept).toEqual([{ step: 3 }, { step: 4 }]);
    expect(steps.map((d) => existsSync(blobFile(sha(d))))).toEqual([false, false, true, true]);
  });

  it("releases the outputs of a replica that did not win once its job has ended, but not bytes a live record shares", async () => {
    const run = await runningJob(server);
    const shared = randomBytes(700);
    const own = randomBytes(701);
    await uploadOutputs(server, run.provider, run.assignmentId, [
      { name: "a", bytes: shared },
      { name: "b", bytes: own },
    ]);
    // one attempt only (MAX_ATTEMPTS=1): the job fails with it
    must(await gql(server.url, op("FailAssignment"), { id: run.assignmentId, reason: "the GPU fell off the bus" }, run.provider.token));
    expect((await server.system.db.query(`SELECT status FROM jobs WHERE id = $1`, [run.jobId]))[0].status).toBe("FAILED");
    // another job completes with the shared bytes
    const winner = await runningJob(server);
    const files = [{ name: "result", bytes: shared }];
    await uploadOutputs(server, winner.provider, winner.assignmentId, files);
    must(await gql(server.url, op("CompleteAssignment"), { id: winner.assignmentId, resultHash: sha(manifestOf(files)) }, winner.provider.token));
    await server.system.services.retention.sweep(new Date(), 0);
    const rows = await server.system.db.query(`SELECT name, purged_at IS NOT NULL AS purged FROM artifacts WHERE assignment_id = $1 ORDER BY name`, [run.assignmentId]);
    expect(rows).toEqual([
      { name: "a", purged: true },
      { name: "b", purged: true },
    ]);
    expect(existsSync(blobFile(sha(own)))).toBe(false);
    expect(existsSync(blobFile(sha(shared)))).toBe(true);
    const failed = must(await gql(server.url, op("JobOutputs"), { id: run.jobId }, run.client.token)).job;
    expect(failed.outputs).toEqual([]);
    const out = must(await gql(server.url, op("JobOutputs"), { id: winner.jobId }, winner.client.token)).job;
    expect((await getBytes(out.outputs[0].downloadUrl)).bytes.equals(shared)).toBe(true);
  });
});

async function otherMarketJob() {
  const m = freshModel();
  await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
  return jobInput(m.model);
}
