import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";
import { dataDir, getBytes, manifestOf, must, put, runningJob, sha, startNext, uploadOutputs } from "./data-plane";

jest.setTimeout(60_000);

let server: TestServer;
const DATA_DIR = dataDir("outputs");
beforeAll(async () => {
  server = await startTestServer({ DATA_DIR });
});
afterAll(() => server.stop());

const JOB_STATUS = `query J($id: ID!) { job(id: $id) { id status result { hash agreedBy } assignments { id status provider { address } } } }`;

const outputsOf = async (client: Actor, jobId: string) => must(await gql(server.url, op("JobOutputs"), { id: jobId }, client.token)).job;
const assignmentStatus = async (id: string) => (await server.system.db.query(`SELECT status FROM assignments WHERE id = $1`, [id]))[0].status as string;
const reserveOutput = (who: Actor, id: string, name: string, bytes: Buffer, declared: { sha256?: string } = {}) =>
  gql(server.url, op("CreateOutputUpload"), { id, name, sha256: declared.sha256 ?? sha(bytes), sizeBytes: String(bytes.length) }, who.token);

describe("the manifest format", () => {
  it("is the one agent/README.md shows in its example", () => {
    const files = [
      { name: "result", bytes: Buffer.from("42\n") },
      { name: "logs/metrics.csv", bytes: Buffer.from("step,loss\n1,0.5\n") },
    ];
    expect(sha(manifestOf(files))).toBe("0e8f8cec69fd144a00dd3b272ed042bccbcd59ec98559b7c7b5c410d756b5090");
  });
});

describe("outputs and the result", () => {
  it("an agent uploads two outputs and completes with the manifest's hash; the owner downloads the manifest and each output, whole, by range and with HEAD", async () => {
    const run = await runningJob(server);
    const files = [
      { name: "result", bytes: Buffer.from("the answer is 42\n") },
      { name: "metrics/loss.csv", bytes: randomBytes(50_000) },
    ];
    await uploadOutputs(server, run.provider, run.assignmentId, files);
    // the same reservation again answers stored
    const again = must(await reserveOutput(run.provider, run.assignmentId, "result", files[0].bytes));
    expect(again.createOutputUpload.output).toEqual({ name: "result", sizeBytes: String(files[0].bytes.length), sha256: sha(files[0].bytes), stored: true });
    // a stored name with other bytes is refused
    expect(codeOf(await reserveOutput(run.provider, run.assignmentId, "result", Buffer.from("other")))).toBe("CONFLICT");

    const manifest = manifestOf(files);
    const hash = sha(manifest);
    const done = must(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: hash }, run.provider.token));
    expect(done.completeAssignment).toMatchObject({ status: "COMPLETED", job: { status: "COMPLETED" } });

    const job = await outputsOf(run.client, run.jobId);
    expect(job.status).toBe("COMPLETED");
    expect(job.result).toMatchObject({ hash, agreedBy: 1, sizeBytes: String(files[0].bytes.length + files[1].bytes.length) });
    expect(new Date(job.result.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const m = await getBytes(job.result.downloadUrl);
    expect(m.status).toBe(200);
    expect(m.bytes.toString("utf8")).toBe(manifest);
    expect(sha(m.bytes)).toBe(hash);
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);

    // by name: metrics/loss.csv sorts before result
    expect(job.outputs.map((o: { name: string }) => o.name)).toEqual(["metrics/loss.csv", "result"]);
    for (const o of job.outputs as { name: string; sizeBytes: string; sha256: string; downloadUrl: string; expiresAt: string }[]) {
      const file = files.find((f) => f.name === o.name)!;
      expect(o).toMatchObject({ sizeBytes: String(file.bytes.length), sha256: sha(file.bytes) });
      expect(new Date(o.expiresAt).getTime()).toBeGreaterThan(Date.now());
      const got = await getBytes(o.downloadUrl);
      expect(got.status).toBe(200);
      expect(got.bytes.equals(file.bytes)).toBe(true);
      expect(got.headers.get("etag")).toBe(`"${sha(file.bytes)}"`);
      expect(got.headers.get("accept-ranges")).toBe("bytes");
      expect(got.headers.get("content-disposition")).toContain(`filename="${o.name.split("/").at(-1)}"`);
    }
    const url = job.outputs.find((o: { name: string }) => o.name === "result").downloadUrl as string;
    const bytes = files[0].bytes;
    const mid = await getBytes(url, { range: "bytes=5-9" });
    expect(mid.status).toBe(206);
    expect(mid.bytes.equals(bytes.subarray(5, 10))).toBe(true);
    expect(mid.headers.get("content-range")).toBe(`bytes 5-9/${bytes.length}`);
    expect(mid.headers.get("content-length")).toBe("5");
    const tail = await getBytes(url, { range: "bytes=-3" });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(bytes.subarray(bytes.length - 3))).toBe(true);
    const open = await getBytes(url, { range: `bytes=${bytes.length - 4}-` });
    expect(open.status).toBe(206);
    expect(open.bytes.equals(bytes.subarray(bytes.length - 4))).toBe(true);
    // an invalid range (end before start) is rejected (RFC 9110 15.5.17 allows 416 for it)
    expect((await getBytes(url, { range: "bytes=9-5" })).status).toBe(416);
    // several ranges are not served as multipart: the whole body
    expect((await getBytes(url, { range: "bytes=0-1,4-5" })).status).toBe(200);
    const past = await getBytes(url, { range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    const manifestPart = await getBytes(job.result.downloadUrl, { range: "bytes=0-63" });
    expect(manifestPart.status).toBe(206);
    expect(manifestPart.bytes.toString()).toBe(manifest.slice(0, 64));

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
    expect(Buffer.from(await head.arrayBuffer()).length).toBe(0);

    // a download URL is for GET only, and its signature is bound to the output
    expect((await put(url, bytes)).status).toBe(403);
    expect((await getBytes(url.replace(/signature=[^&]+/, "signature=x"))).status).toBe(403);
  });

  it("shows a job's outputs to its owner only: another account's job(id) is FORBIDDEN, the provider's too", async () => {
    const run = await runningJob(server);
    const files = [{ name: "result", bytes: Buffer.from("r\n") }];
    await uploadOutputs(server, run.provider, run.assignmentId, files);
    must(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf(files)) }, run.provider.token));
    const stranger = await actor(server);
    const seen = await gql(server.url, op("JobOutputs"), { id: run.jobId }, stranger.token);
    expect(codeOf(seen)).toBe("FORBIDDEN");
    expect(JSON.stringify(seen)).not.toContain("/transfers/");
    expect(codeOf(await gql(server.url, op("JobOutputs"), { id: run.jobId }, run.provider.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("JobOutputs"), { id: run.jobId }))).toBe("UNAUTHENTICATED");
    // the provider reaches the job through its node's assignments: the URLs there are null (a small page: 100
    // assignments of 1000 outputs each would pass GRAPHQL_MAX_COST)
    const viaNode = await gql(
      server.url,
      `query A($nodeId: ID!) { assignments(nodeId: $nodeId, first: 10) { id job { id result { hash downloadUrl } outputs { name sha256 downloadUrl } } } }`,
      { nodeId: run.nodeId },
      run.provider.token,
    );
    const mine = viaNode.data?.assignments.find((x: { id: string }) => x.id === run.assignmentId);
    expect(viaNode.errors).toBeUndefined();
    expect(mine.job.result).toMatchObject({ hash: sha(manifestOf(files)), downloadUrl: null });
    expect(mine.job.outputs).toEqual([{ name: "result", sha256: sha(files[0].bytes), downloadUrl: null }]);
    expect(JSON.stringify(viaNode)).not.toContain("/transfers/output");
    expect(JSON.stringify(viaNode)).not.toContain("/transfers/result");
  });

  it("refuses a completion whose hash is not the manifest's (still RUNNING), and one with an output reserved but not uploaded", async () => {
    const run = await runningJob(server);
    const files = [
      { name: "a.txt", bytes: Buffer.from("a") },
      { name: "b.txt", bytes: Buffer.from("b") },
    ];
    await uploadOutputs(server, run.provider, run.assignmentId, files);
    const wrong = await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha("not the manifest") }, run.provider.token);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    expect(await assignmentStatus(run.assignmentId)).toBe("RUNNING");
    // the file's own hash is not the result hash either
    expect(codeOf(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha("a") }, run.provider.token))).toBe("BAD_USER_INPUT");

    const c = Buffer.from("c");
    must(await reserveOutput(run.provider, run.assignmentId, "c.txt", c));
    const withC = [...files, { name: "c.txt", bytes: c }];
    const missing = await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf(withC)) }, run.provider.token);
    expect(codeOf(missing)).toBe("BAD_USER_INPUT");
    expect(missing.errors![0].message).toMatch(/not uploaded/);
    expect(await assignmentStatus(run.assignmentId)).toBe("RUNNING");
    await uploadOutputs(server, run.provider, run.assignmentId, [{ name: "c.txt", bytes: c }]);
    expect(must(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf(withC)) }, run.provider.token)).completeAssignment.status).toBe("COMPLETED");
    const job = await outputsOf(run.client, run.jobId);
    expect(job.result.sizeBytes).toBe("3");
    expect(job.outputs.map((o: { name: string }) => o.name)).toEqual(["a.txt", "b.txt", "c.txt"]);
  });

  it("sorts the manifest by the names' UTF-8 bytes, not UTF-16 code units or a locale", async () => {
    const run = await runningJob(server);
    // UTF-16 puts the emoji (a surrogate pair, D83D...) before U+FB01; UTF-8 puts EF AC 81 before F0 9F...
    const files = ["\u{1F600}.txt", "\uFB01le", "B", "a", "a/b", "a-b", "Z/é"].map((name, i) => ({ name, bytes: Buffer.from(`file ${i}`) }));
    await uploadOutputs(server, run.provider, run.assignmentId, files);
    const manifest = manifestOf(files);
    expect(manifest.split("\n").slice(0, -1).map((l) => l.split(" ").slice(2).join(" "))).toEqual(["B", "Z/é", "a", "a-b", "a/b", "\uFB01le", "\u{1F600}.txt"]);
    must(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifest) }, run.provider.token));
    const job = await outputsOf(run.client, run.jobId);
    expect((await getBytes(job.result.downloadUrl)).bytes.toString("utf8")).toBe(manifest);
    expect(job.outputs.map((o: { name: string }) => o.name)).toEqual(["B", "Z/é", "a", "a-b", "a/b", "\uFB01le", "\u{1F600}.txt"]);
  });

  it("a PUT of the bytes first reserved does not store a name reserved again meanwhile with other bytes", async () => {
    const run = await runningJob(server);
    const first = randomBytes(200_000);
    const second = randomBytes(1000);
    const reserved = must(await reserveOutput(run.provider, run.assignmentId, "result", first)).createOutputUpload;
    // the first body starts streaming; while it is in flight the name is reserved again with other bytes
    let push!: (chunk: Buffer | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk ? controller.enqueue(chunk) : controller.close());
      },
    });
    const inFlight = fetch(reserved.uploadUrl, { method: "PUT", body, duplex: "half" } as RequestInit);
    push(first.subarray(0, 100_000));
    // the store is writing the body (so the server has looked the reservation up) before the name is reserved again
    await eventually(async () => (readdirSync(join(DATA_DIR, "tmp")).some((f) => f.endsWith(".part")) ? true : undefined), 10_000, "the upload in the store");
    const again = must(await reserveOutput(run.provider, run.assignmentId, "result", second)).createOutputUpload;
    expect(again.output).toMatchObject({ sha256: sha(second), stored: false });
    push(first.subarray(100_000));
    push(null);
    const res = await inFlight;
    await res.text();
    const [row] = await server.system.db.query(`SELECT sha256, stored_at FROM artifacts WHERE assignment_id = $1 AND name = 'result'`, [run.assignmentId]);
    // the record names the second bytes: it must not say they are stored, since only the first ones came
    expect(row.sha256.trim()).toBe(sha(second));
    expect(row.stored_at).toBeNull();
    expect(res.status).toBe(409);
    const completion = await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf([{ name: "result", bytes: second }])) }, run.provider.token);
    expect(codeOf(completion)).toBe("BAD_USER_INPUT");
    // the second bytes to the second URL store them
    expect((await put(again.uploadUrl, second)).status).toBe(201);
  });

  it("an empty output file is an output: stored, listed, served as 0 bytes", async () => {
    const run = await runningJob(server);
    const files = [
      { name: "empty", bytes: Buffer.alloc(0) },
      { name: "result", bytes: Buffer.from("x") },
    ];
    await uploadOutputs(server, run.provider, run.assignmentId, files);
    must(await gql(server.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf(files)) }, run.provider.token));
    const job = await outputsOf(run.client, run.jobId);
    const empty = job.outputs.find((o: { name: string }) => o.name === "empty");
    expect(empty).toMatchObject({ sizeBytes: "0", sha256: sha("") });
    const got = await getBytes(empty.downloadUrl);
    expect(got.status).toBe(200);
    expect(got.bytes.length).toBe(0);
  });

  it.each([
    ["../x", "../x"],
    ["an absolute path", "/etc/passwd"],
    ["a//b", "a//b"],
    ["a trailing /", "a/"],
    ["a backslash", "a\\b"],
    ["a C1 control", "a\u009bb"],
    ["a lone surrogate", "\udc00"],
  ])("refuses the output name %s (BAD_USER_INPUT)", async (_label, name) => {
    const run = await runningJob(server);
    expect(codeOf(await reserveOutput(run.provider, run.assignmentId, name, Buffer.from("x")))).toBe("BAD_USER_INPUT");
  });

  it("refuses an output of an assignment that is not RUNNING (CONFLICT), of another provider (FORBIDDEN), and a bad declared hash", async () => {
    const m = freshModel();
    const provider = await actor(server);
    const { nodeId } = await onlineOffer(server, provider, m.gpu(1), "2", 1);
    const client = await actor(server, 100n);
    must(await gql(server.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token));
    const assigned = await eventually(async () => must(await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).assignments[0] as { id: string } | undefined, 20_000, "an assignment");
    expect(codeOf(await reserveOutput(provider, assigned.id, "result", Buffer.from("x")))).toBe("CONFLICT");
    must(await gql(server.url, op("StartAssignment"), { id: assigned.id }, provider.token));
    const other = await actor(server);
    expect(codeOf(await reserveOutput(other, assigned.id, "result", Buffer.from("x")))).toBe("FORBIDDEN");
    expect(codeOf(await reserveOutput(client, assigned.id, "result", Buffer.from("x")))).toBe("FORBIDDEN");
    expect(codeOf(await reserveOutput(provider, assigned.id, "result", Buffer.from("x"), { sha256: "zz" }))).toBe("BAD_USER_INPUT");
    const files = [{ name: "result", bytes: Buffer.from("x") }];
    const reserved = must(await reserveOutput(provider, assigned.id, "result", files[0].bytes)).createOutputUpload;
    // a body other than declared is refused, nothing stored
    expect((await put(reserved.uploadUrl, Buffer.from("y"))).status).toBe(400);
    await uploadOutputs(server, provider, assigned.id, files);
    must(await gql(server.url, op("CompleteAssignment"), { id: assigned.id, resultHash: sha(manifestOf(files)) }, provider.token));
    expect(codeOf(await reserveOutput(provider, assigned.id, "late", Buffer.from("x")))).toBe("CONFLICT");
    // the PUT URL of an output reserved while running still answers 200 (stored), not a second blob
    expect((await put(reserved.uploadUrl, files[0].bytes)).status).toBe(200);
  });
});

describe("redundancy 3 with outputs", () => {
  it("completes with the majority's manifest, REJECTS the provider whose one file differs, and serves the majority's bytes", async () => {
    const m = freshModel();
    const providers = [await actor(server), await actor(server), await actor(server)];
    const nodes: string[] = [];
    for (const p of providers) nodes.push((await onlineOffer(server, p, m.gpu(1), "2", 1)).nodeId);
    const client = await actor(server, 100n);
    const jobId = must(await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { redundancy: 3 }) }, client.token)).submitJob.id as string;
    const shared = randomBytes(20_000);
    const right = [
      { name: "result", bytes: Buffer.from("majority\n") },
      { name: "data/big.bin", bytes: shared },
    ];
    const altered = Buffer.from(shared);
    altered[12_345] ^= 0xff;
    const odd = [right[0], { name: "data/big.bin", bytes: altered }];
    const assignments = [];
    for (const [i, p] of providers.entries()) assignments.push((await startNext(server, p, nodes[i])).id);
    // the odd one finishes first
    const order = [2, 0, 1];
    for (const i of order) {
      const files = i === 2 ? odd : right;
      await uploadOutputs(server, providers[i], assignments[i], files);
      const r = await gql(server.url, op("CompleteAssignment"), { id: assignments[i], resultHash: sha(manifestOf(files)) }, providers[i].token);
      expect(r.errors).toBeUndefined();
    }
    const status = must(await gql(server.url, JOB_STATUS, { id: jobId }, client.token)).job;
    expect(status.status).toBe("COMPLETED");
    expect(status.result).toEqual({ hash: sha(manifestOf(right)), agreedBy: 2 });
    const byProvider = Object.fromEntries(status.assignments.map((a: { provider: { address: string }; status: string }) => [a.provider.address, a.status]));
    expect(byProvider[providers[2].wallet.address]).toBe("REJECTED");
    expect(byProvider[providers[0].wallet.address]).toBe("COMPLETED");
    expect(byProvider[providers[1].wallet.address]).toBe("COMPLETED");

    const job = await outputsOf(client, jobId);
    expect(job.result.hash).toBe(sha(manifestOf(right)));
    expect((await getBytes(job.result.downloadUrl)).bytes.toString()).toBe(manifestOf(right));
    expect(job.outputs).toHaveLength(2);
    const big = job.outputs.find((o: { name: string }) => o.name === "data/big.bin");
    expect(big.sha256).toBe(sha(shared));
    expect((await getBytes(big.downloadUrl)).bytes.equals(shared)).toBe(true);
    expect((await getBytes(big.downloadUrl, { range: "bytes=12345-12345" })).bytes[0]).toBe(shared[12_345]);
  });
});
