import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { TransferUrls } from "../../services/transfer-urls";
import { actor, eventually, freshModel, jobInput, onlineOffer } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";
import { dataDir, getBytes, must, put, runningJob, sha, uploadInput } from "./data-plane";

jest.setTimeout(60_000);

let server: TestServer;
const DATA_DIR = dataDir("inputs");
const blobFile = (sha256: string) => join(DATA_DIR, "blobs", sha256.slice(0, 2), sha256);
beforeAll(async () => {
  server = await startTestServer({ DATA_DIR });
});
afterAll(() => server.stop());

const reserve = (token: string, name: string, bytes: Buffer, declared: { sizeBytes?: string; sha256?: string } = {}) =>
  gql(server.url, op("CreateInputUpload"), { input: { name, sizeBytes: declared.sizeBytes ?? String(bytes.length), sha256: declared.sha256 ?? sha(bytes) } }, token);

const storedOf = async (id: string) => (await server.system.db.query(`SELECT stored_at FROM artifacts WHERE id = $1`, [id]))[0].stored_at as Date | null;

describe("input files", () => {
  it("takes the declared bytes once (201, then 200), refuses another size or sha256 with 400 and keeps nothing, and a job names only uploaded ones", async () => {
    const client = await actor(server, 100n);
    const bytes = randomBytes(4096);
    const r = must(await reserve(client.token, "data/train.bin", bytes));
    expect(r.createInputUpload.artifact).toMatchObject({ name: "data/train.bin", sizeBytes: "4096", sha256: sha(bytes) });
    expect(new Date(r.createInputUpload.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const url = r.createInputUpload.uploadUrl as string;
    const id = r.createInputUpload.artifact.id as string;
    // a model the catalogue knows (a node has it), so submitJob gets as far as the inputs
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const submit = () => gql(server.url, op("SubmitJobWithInputs"), { input: jobInput(m.model, {}, { inputs: [{ artifactId: id, path: "train.bin" }] }) }, client.token);

    const short = await put(url, bytes.subarray(0, 4000));
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe("BAD_USER_INPUT");
    const long = await put(url, Buffer.concat([bytes, Buffer.from("x")]));
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe("BAD_USER_INPUT");
    const altered = Buffer.from(bytes);
    altered[100] ^= 1;
    const wrongHash = await put(url, altered);
    expect(wrongHash.status).toBe(400);
    expect(wrongHash.body.error.code).toBe("BAD_USER_INPUT");
    expect(await storedOf(id)).toBeNull();
    expect(existsSync(blobFile(sha(bytes)))).toBe(false);
    expect(existsSync(blobFile(sha(altered)))).toBe(false);
    const early = await submit();
    expect(codeOf(early)).toBe("BAD_USER_INPUT");
    expect(early.errors![0].message).toMatch(/not uploaded/);

    const first = await put(url, bytes);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ sha256: sha(bytes), sizeBytes: "4096", stored: true });
    expect((await put(url, bytes)).status).toBe(200);
    // once stored, another body to the same URL is not read: still 200, the blob unchanged
    expect((await put(url, altered)).status).toBe(200);
    expect(await storedOf(id)).not.toBeNull();
    expect(readFileSync(blobFile(sha(bytes))).equals(bytes)).toBe(true);

    const job = must(await submit());
    expect(job.submitJob.inputs).toEqual([{ artifactId: id, path: "train.bin", sizeBytes: "4096", sha256: sha(bytes) }]);
  });

  it("takes a streamed body without Content-Length (chunked), and refuses a streamed body longer than declared", async () => {
    const client = await actor(server);
    const bytes = randomBytes(300_000);
    const streamed = (data: Buffer) =>
      fetch(url, { method: "PUT", body: Readable.toWeb(Readable.from([data.subarray(0, 100_000), data.subarray(100_000)])) as ReadableStream, duplex: "half" } as RequestInit);
    const r = must(await reserve(client.token, "big.bin", bytes)).createInputUpload;
    const url = r.uploadUrl as string;
    const longer = await streamed(Buffer.concat([bytes, Buffer.from("extra")]));
    expect(longer.status).toBe(400);
    expect(((await longer.json()) as { error: { code: string } }).error.code).toBe("BAD_USER_INPUT");
    expect(await storedOf(r.artifact.id)).toBeNull();
    const ok = await streamed(bytes);
    expect(ok.status).toBe(201);
    expect(readFileSync(blobFile(sha(bytes))).equals(bytes)).toBe(true);
  });

  it("refuses an altered signature, a URL of another artifact, a GET of a PUT URL, and an expired URL (403)", async () => {
    const client = await actor(server);
    const a = randomBytes(100);
    const b = randomBytes(100);
    const ra = must(await reserve(client.token, "a.bin", a)).createInputUpload;
    const rb = must(await reserve(client.token, "b.bin", b)).createInputUpload;
    const forged = (ra.uploadUrl as string).replace(/signature=([^&])/, (_m, c: string) => `signature=${c === "A" ? "B" : "A"}`);
    const forgedPut = await put(forged, a);
    expect(forgedPut.status).toBe(403);
    expect(forgedPut.body.error.code).toBe("FORBIDDEN");
    // a's signature on b's id
    const swapped = (ra.uploadUrl as string).replace(ra.artifact.id, rb.artifact.id);
    expect((await put(swapped, b)).status).toBe(403);
    expect((await put((ra.uploadUrl as string).replace("/transfers/input/", "/transfers/output/"), a)).status).toBe(403);
    expect((await put((ra.uploadUrl as string).split("?")[0], a)).status).toBe(403);
    expect((await getBytes(ra.uploadUrl)).status).toBe(403);
    // a URL this server signed a minute ago with a TTL of 10 s (the server's secret, a clock in the past)
    const past = new TransferUrls(server.system.config.PUBLIC_URL, server.system.config.JWT_SECRET, 10, () => Date.now() - 60_000);
    const expired = await put(past.url("input", "put", ra.artifact.id), a);
    expect(expired.status).toBe(403);
    expect(expired.body.error.message).toMatch(/expired/);
    // the same signer with the present clock is accepted: the 403 above was the expiry
    const fresh = new TransferUrls(server.system.config.PUBLIC_URL, server.system.config.JWT_SECRET, 10);
    expect((await put(fresh.url("input", "put", ra.artifact.id), a)).status).toBe(201);
    expect(await storedOf(rb.artifact.id)).toBeNull();
  });

  it.each([
    ["../x", "../x"],
    ["/abs", "/abs"],
    ["a//b", "a//b"],
    ["a/./b", "a/./b"],
    ["a/..", "a/.."],
    ["empty", ""],
    ["a backslash", "a\\b"],
    ["a NUL", "a\u0000b"],
    ["256 bytes", "x".repeat(256)],
    ["a C1 control (U+0085)", "a\u0085b"],
    ["a DEL", "a\u007fb"],
    ["a lone surrogate", "a\ud800b"],
  ])("refuses the name %s at CreateInputUpload", async (_label, name) => {
    const client = await actor(server);
    const r = await reserve(client.token, name, Buffer.from("x"));
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
  });

  it("refuses a bad declared sha256 or size and an anonymous caller", async () => {
    const client = await actor(server);
    expect(codeOf(await reserve(client.token, "a", Buffer.from("x"), { sha256: "ab" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await reserve(client.token, "a", Buffer.from("x"), { sizeBytes: "-1" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("CreateInputUpload"), { input: { name: "a", sizeBytes: "1", sha256: sha("x") } }))).toBe("UNAUTHENTICATED");
  });

  it("refuses another account's artifact (FORBIDDEN), a path twice and a bad path in submitJob", async () => {
    const alice = await actor(server, 100n);
    const bob = await actor(server, 100n);
    const id = await uploadInput(server, alice, "mine.bin", randomBytes(64));
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const submit = (inputs: unknown) => gql(server.url, op("SubmitJobWithInputs"), { input: jobInput(m.model, {}, { inputs }) }, bob.token);
    expect(codeOf(await submit([{ artifactId: id, path: "x" }]))).toBe("FORBIDDEN");
    const own = await uploadInput(server, bob, "own.bin", randomBytes(64));
    expect(codeOf(await submit([{ artifactId: own, path: "x" }, { artifactId: own, path: "x" }]))).toBe("BAD_USER_INPUT");
    expect(codeOf(await submit([{ artifactId: own, path: "../x" }]))).toBe("BAD_USER_INPUT");
    expect(codeOf(await submit([{ artifactId: own, path: "x\u0085" }]))).toBe("BAD_USER_INPUT");
    // a path under another input file (the agent could not lay both out: it fails such an assignment)
    const nested = await submit([{ artifactId: own, path: "data" }, { artifactId: own, path: "data/x.bin" }]);
    expect(codeOf(nested)).toBe("BAD_USER_INPUT");
    expect(codeOf(await submit([{ artifactId: own, path: "a/b/c" }, { artifactId: own, path: "a/b" }]))).toBe("BAD_USER_INPUT");
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [bob.accountId]);
    expect(n).toBe(0);
    // siblings and a name that only starts like another are fine; the longest name of 255 bytes (multi-byte) too
    const long = "é".repeat(127) + "x";
    const fine = must(await submit([{ artifactId: own, path: "data/a" }, { artifactId: own, path: "data/b" }, { artifactId: own, path: "data.bin" }, { artifactId: own, path: "data2/a" }, { artifactId: own, path: long }]));
    expect(fine.submitJob.inputs.map((i: { path: string }) => i.path).sort()).toEqual(["data.bin", "data/a", "data/b", "data2/a", long].sort());
  });

  it("gives the job's provider its inputs with download URLs whose bytes match (and Range works); another provider is FORBIDDEN", async () => {
    const client = await actor(server, 100n);
    const one = randomBytes(10_000);
    const two = Buffer.from("hello inputs\n");
    const inputs = [
      { artifactId: await uploadInput(server, client, "weights.bin", one), path: "model/weights.bin" },
      { artifactId: await uploadInput(server, client, "prompt.txt", two), path: "prompt.txt" },
    ];
    const run = await runningJob(server, { inputs }, client);
    const got = must(await gql(server.url, op("AssignmentInputs"), { id: run.assignmentId }, run.provider.token)).assignmentInputs as { path: string; sizeBytes: string; sha256: string; downloadUrl: string }[];
    expect(got.map((i) => i.path).sort()).toEqual(["model/weights.bin", "prompt.txt"]);
    for (const i of got) {
      const expected = i.path === "prompt.txt" ? two : one;
      expect(i).toMatchObject({ sizeBytes: String(expected.length), sha256: sha(expected) });
      const res = await getBytes(i.downloadUrl);
      expect(res.status).toBe(200);
      expect(sha(res.bytes)).toBe(i.sha256);
    }
    const weights = got.find((i) => i.path === "model/weights.bin")!;
    const part = await getBytes(weights.downloadUrl, { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.bytes.equals(one.subarray(100, 200))).toBe(true);

    const other = await actor(server);
    expect(codeOf(await gql(server.url, op("AssignmentInputs"), { id: run.assignmentId }, other.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("AssignmentInputs"), { id: run.assignmentId }, client.token))).toBe("FORBIDDEN");
  });

  it("an assignment's inputs are there while it is ASSIGNED (before StartAssignment) and RUNNING", async () => {
    const m = freshModel();
    const provider = await actor(server);
    const { nodeId } = await onlineOffer(server, provider, m.gpu(1), "2", 1);
    const client = await actor(server, 100n);
    const bytes = randomBytes(333);
    const artifactId = await uploadInput(server, client, "in.bin", bytes);
    must(await gql(server.url, op("SubmitJobWithInputs"), { input: jobInput(m.model, {}, { inputs: [{ artifactId, path: "in.bin" }] }) }, client.token));
    const pending = await eventually(async () => must(await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).assignments[0] as { id: string } | undefined, 20_000, "an assignment");
    const got = must(await gql(server.url, op("AssignmentInputs"), { id: pending.id }, provider.token)).assignmentInputs;
    expect(got).toHaveLength(1);
    expect(sha((await getBytes(got[0].downloadUrl)).bytes)).toBe(sha(bytes));
    must(await gql(server.url, op("StartAssignment"), { id: pending.id }, provider.token));
    expect(must(await gql(server.url, op("AssignmentInputs"), { id: pending.id }, provider.token)).assignmentInputs).toHaveLength(1);
  });
});

describe("the storage quota", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ DATA_DIR: dataDir("quota"), STORAGE_QUOTA_BYTES: "1000" });
  });
  afterAll(() => small.stop());

  it("refuses an input that would pass the account's quota with QUOTA_EXCEEDED and reserves nothing; other accounts have their own", async () => {
    const client = await actor(small);
    const reserveOn = (token: string, name: string, size: number) => gql(small.url, op("CreateInputUpload"), { input: { name, sizeBytes: String(size), sha256: sha(randomBytes(8)) } }, token);
    must(await reserveOn(client.token, "a", 600));
    const over = await reserveOn(client.token, "b", 401);
    expect(codeOf(over)).toBe("QUOTA_EXCEEDED");
    const count = async () => (await small.system.db.query(`SELECT count(*)::int AS n, coalesce(sum(size_bytes), 0)::int AS bytes FROM artifacts WHERE account_id = $1`, [client.accountId]))[0];
    expect(await count()).toEqual({ n: 1, bytes: 600 });
    // exactly up to the quota fits
    must(await reserveOn(client.token, "b", 400));
    expect(codeOf(await reserveOn(client.token, "c", 1))).toBe("QUOTA_EXCEEDED");
    expect(await count()).toEqual({ n: 2, bytes: 1000 });
    const other = await actor(small);
    must(await reserveOn(other.token, "a", 1000));
    expect(codeOf(await reserveOn(other.token, "z", 1001))).toMatch(/QUOTA_EXCEEDED|PAYLOAD_TOO_LARGE/);
  });

  it("counts reservations made at the same time once each (no two fit under the quota together)", async () => {
    const client = await actor(small);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => gql(small.url, op("CreateInputUpload"), { input: { name: `p${i}`, sizeBytes: "300", sha256: sha(randomBytes(8)) } }, client.token)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(3);
    expect(results.filter((r) => codeOf(r) === "QUOTA_EXCEEDED")).toHaveLength(3);
  });
});
