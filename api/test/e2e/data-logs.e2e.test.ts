import { randomBytes } from "node:crypto";
import type { Client as WsClient } from "graphql-ws";
import { actor, eventually, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { codeOf, gql, startTestServer, wsClient, type GqlResponse, type TestServer } from "../harness";
import { dataDir, manifestOf, must, runningJob, sha, uploadOutputs } from "./data-plane";

jest.setTimeout(60_000);

interface Line {
  seq: string;
  assignmentId: string;
  stream: "STDOUT" | "STDERR";
  line: string;
  at: string;
}

// the agent talks to A, clients follow on B; a worker of its own relays the outbox (as instances of one deployment)
let a: TestServer;
let b: TestServer;
let worker: TestServer;
beforeAll(async () => {
  const shared = { QUEUE_PREFIX: `gxl${randomBytes(3).toString("hex")}`, JWT_SECRET: randomBytes(32).toString("hex"), DATABASE_URL: await privateDatabaseUrl("logs"), DATA_DIR: dataDir("logs") };
  [a, b, worker] = await Promise.all([startTestServer(shared, { api: true, worker: false }), startTestServer(shared, { api: true, worker: false }), startTestServer(shared, { api: false, worker: true })]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), worker.stop()]);
});
const opened: WsClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.dispose()));
});

const append = (server: TestServer, who: Actor, id: string, lines: { stream: string; line: string; at?: string }[]) => gql(server.url, op("AppendLogs"), { id, lines }, who.token);
const stdout = (...lines: string[]) => lines.map((line) => ({ stream: "STDOUT", line }));

/** Follows a job's logs on `server`: every line as it comes, and whether the stream ended (or its errors). */
function follow(server: TestServer, who: Actor, jobId: string, afterSeq: string | null) {
  const ws = wsClient(server.wsUrl, `Bearer ${who.token}`);
  opened.push(ws);
  const lines: Line[] = [];
  let errors: unknown;
  let completed = false;
  const ended = new Promise<void>((resolve) =>
    ws.subscribe({ query: op("JobLogs"), variables: { jobId, afterSeq } }, {
      next: (v) => {
        if (v.errors) errors = v.errors;
        else lines.push((v.data as { jobLogs: Line }).jobLogs);
      },
      error: (e) => {
        errors = e;
        resolve();
      },
      complete: () => {
        completed = true;
        resolve();
      },
    }),
  );
  return {
    lines,
    ended,
    errors: () => errors,
    completed: () => completed,
    until: (n: number, what = `${n} lines`) => eventually(async () => (lines.length >= n ? lines : undefined), 15_000, what),
  };
}

const seqs = (lines: readonly Line[]) => lines.map((l) => Number(l.seq));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("a job's logs", () => {
  it("numbers lines 1..n in order; a follower from the start, one from k and a late one after the end see each line once, across two instances", async () => {
    const run = await runningJob(a);
    const lines = [
      { stream: "STDOUT", line: "epoch 1" },
      { stream: "STDERR", line: "warning: slow disk" },
      { stream: "STDOUT", line: "epoch 2 ünïcödé ✓" },
      { stream: "STDOUT", line: "" },
    ];
    const first = must(await append(a, run.provider, run.assignmentId, lines));
    expect(first.appendLogs).toEqual({ accepted: 4, dropped: 0, full: false });

    const all = follow(b, run.client, run.jobId, null);
    await all.until(4, "the replay");
    expect(all.lines.map((l) => [l.seq, l.stream, l.line])).toEqual(lines.map((l, i) => [String(i + 1), l.stream, l.line]));
    expect(all.lines.every((l) => l.assignmentId === run.assignmentId)).toBe(true);

    const fromTwo = follow(b, run.client, run.jobId, "2");
    await fromTwo.until(2, "the replay after 2");
    // live lines in several batches while both follow (one on A too)
    const onA = follow(a, run.client, run.jobId, "4");
    for (let batch = 0; batch < 5; batch++) {
      must(await append(a, run.provider, run.assignmentId, stdout(...range(1, 4).map((i) => `batch ${batch} line ${i}`))));
    }
    const n = 4 + 5 * 4;
    await all.until(n, "the live lines");
    await fromTwo.until(n - 2);
    await onA.until(n - 4);
    expect(seqs(all.lines)).toEqual(range(1, n));
    expect(seqs(fromTwo.lines)).toEqual(range(3, n));
    expect(seqs(onA.lines)).toEqual(range(5, n));
    expect(fromTwo.lines.at(-1)).toEqual(all.lines.at(-1));

    // the job ends: the followers' streams end after its last line
    const files = [{ name: "result", bytes: Buffer.from("done") }];
    await uploadOutputs(a, run.provider, run.assignmentId, files);
    must(await append(a, run.provider, run.assignmentId, stdout("the last line")));
    must(await gql(a.url, op("CompleteAssignment"), { id: run.assignmentId, resultHash: sha(manifestOf(files)) }, run.provider.token));
    await Promise.all([all.ended, fromTwo.ended, onA.ended]);
    expect(all.completed() && fromTwo.completed() && onA.completed()).toBe(true);
    expect(seqs(all.lines)).toEqual(range(1, n + 1));
    expect(seqs(onA.lines)).toEqual(range(5, n + 1));
    expect(all.lines.at(-1)!.line).toBe("the last line");

    // after the end: the kept lines after afterSeq, then the end of the stream
    const late = follow(b, run.client, run.jobId, String(n - 3));
    await late.ended;
    expect(late.completed()).toBe(true);
    expect(seqs(late.lines)).toEqual(range(n - 2, n + 1));
    const none = follow(b, run.client, run.jobId, String(n + 1));
    await none.ended;
    expect(none.lines).toEqual([]);

    // logs(last: N): the last N, oldest first
    const last = must(await gql(b.url, `query L($id: ID!) { job(id: $id) { logs(last: 3) { seq line } } }`, { id: run.jobId }, run.client.token));
    expect(last.job.logs).toEqual([
      { seq: String(n - 1), line: "batch 4 line 3" },
      { seq: String(n), line: "batch 4 line 4" },
      { seq: String(n + 1), line: "the last line" },
    ]);
    const outputs = must(await gql(b.url, op("JobOutputs"), { id: run.jobId }, run.client.token));
    expect(seqs(outputs.job.logs)).toEqual(range(1, n + 1));
    // an appendLogs after the end is refused
    expect(codeOf(await append(a, run.provider, run.assignmentId, stdout("too late")))).toBe("CONFLICT");
  });

  it("a follower that joins while lines are being appended (on the other instance) gets every line once, in order", async () => {
    const run = await runningJob(a);
    let stop = false;
    let sent = 0;
    const writer = (async () => {
      while (!stop && sent < 400) {
        must(await append(a, run.provider, run.assignmentId, stdout(...range(1, 5).map((i) => `line ${sent + i}`))));
        sent += 5;
      }
    })();
    const followers: { f: ReturnType<typeof follow>; from: number }[] = [];
    for (let i = 0; i < 4; i++) {
      await eventually(async () => (sent >= 10 * (i + 1) ? true : undefined), 15_000, "some lines");
      const after = i % 2 === 0 ? 0 : sent - 7;
      followers.push({ f: follow(b, run.client, run.jobId, after === 0 ? null : String(after)), from: after + 1 });
    }
    stop = true;
    await writer;
    for (const { f, from } of followers) {
      const got = await eventually(async () => (f.lines.length > 0 && Number(f.lines.at(-1)!.seq) === sent ? f.lines : undefined), 15_000, "the last line");
      expect(seqs(got)).toEqual(range(from, sent));
      expect(got.map((l) => l.line)).toEqual(range(from, sent).map((i) => `line ${i}`));
    }
  });

  it("masks the values of the job's secret env in its lines, not those of other variables", async () => {
    const token = `sk-${randomBytes(8).toString("hex")}`;
    const run = await runningJob(a, {
      env: [
        { name: "API_TOKEN", value: token, secret: true },
        { name: "PLAIN", value: "visible-value" },
        { name: "SHORT", value: "ab", secret: true },
      ],
    });
    must(await append(a, run.provider, run.assignmentId, [
      { stream: "STDOUT", line: `using token ${token} for visible-value` },
      { stream: "STDERR", line: `${token}${token}` },
    ]));
    const logs = must(await gql(a.url, `query L($id: ID!) { job(id: $id) { logs(last: 10) { line } } }`, { id: run.jobId }, run.client.token)).job.logs;
    expect(logs).toEqual([{ line: "using token ******** for visible-value" }, { line: "****************" }]);
    const f = follow(b, run.client, run.jobId, null);
    await f.until(2);
    expect(JSON.stringify(f.lines)).not.toContain(token);
  });

  it("keeps lines in order by stream as sent, cuts a line over the limit on a character boundary, and takes the agent's time unless it is in the future", async () => {
    const run = await runningJob(a);
    const past = new Date(Date.now() - 60_000).toISOString();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const long = "é".repeat(5000);
    must(await append(a, run.provider, run.assignmentId, [
      { stream: "STDOUT", line: "a", at: past },
      { stream: "STDERR", line: long, at: future },
    ]));
    const logs = must(await gql(a.url, `query L($id: ID!) { job(id: $id) { logs(last: 10) { stream line at } } }`, { id: run.jobId }, run.client.token)).job.logs;
    expect(logs[0]).toEqual({ stream: "STDOUT", line: "a", at: past });
    expect(new Date(logs[1].at).getTime()).toBeLessThanOrEqual(Date.now());
    expect(Buffer.byteLength(logs[1].line)).toBeLessThanOrEqual(4096);
    expect(logs[1].line.endsWith("…")).toBe(true);
    expect(logs[1].line).not.toContain("\ufffd");
    expect(codeOf(await append(a, run.provider, run.assignmentId, [{ stream: "STDIN", line: "x" }]))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(a.url, `query L($id: ID!) { job(id: $id) { logs(last: 0) { line } } }`, { id: run.jobId }, run.client.token))).toBe("BAD_USER_INPUT");
  });

  it("shows logs to the job's owner only, and takes them from the assignment's provider only", async () => {
    const run = await runningJob(a);
    must(await append(a, run.provider, run.assignmentId, stdout("private")));
    const stranger = await actor(a);
    const logs = await gql(a.url, `query L($id: ID!) { job(id: $id) { logs(last: 10) { line } } }`, { id: run.jobId }, stranger.token);
    expect(["FORBIDDEN", "NOT_FOUND"]).toContain(codeOf(logs));
    expect(JSON.stringify(logs)).not.toContain("private");
    const f = follow(b, stranger, run.jobId, null);
    await f.ended;
    expect(f.lines).toEqual([]);
    expect(["FORBIDDEN", "NOT_FOUND"]).toContain((f.errors() as GqlResponse["errors"])?.[0]?.extensions?.code);
    // the provider running the job does not read its logs either
    const p = follow(b, run.provider, run.jobId, null);
    await p.ended;
    expect(p.lines).toEqual([]);
    const anonymous = wsClient(b.wsUrl);
    opened.push(anonymous);
    const anon = await new Promise<unknown>((resolve) => anonymous.subscribe({ query: op("JobLogs"), variables: { jobId: run.jobId } }, { next: resolve, error: resolve, complete: () => resolve(undefined) }));
    expect(JSON.stringify(anon)).not.toContain("private");

    const other = await actor(a);
    expect(codeOf(await append(a, other, run.assignmentId, stdout("injected")))).toBe("FORBIDDEN");
    expect(codeOf(await append(a, run.client, run.assignmentId, stdout("injected")))).toBe("FORBIDDEN");
    expect(codeOf(await append(a, run.provider, "00000000-0000-4000-8000-000000000000", stdout("x")))).toBe("NOT_FOUND");
    const kept = must(await gql(a.url, `query L($id: ID!) { job(id: $id) { logs(last: 10) { line } } }`, { id: run.jobId }, run.client.token)).job.logs;
    expect(kept).toEqual([{ line: "private" }]);
  });
});

describe("the per-assignment bound", () => {
  let bounded: TestServer;
  beforeAll(async () => {
    bounded = await startTestServer({ DATA_DIR: dataDir("log-bound"), LOG_MAX_LINES: "5" });
  });
  afterAll(() => bounded.stop());

  it("keeps 5 lines, counts the rest as dropped and says full", async () => {
    const run = await runningJob(bounded);
    expect(must(await append(bounded, run.provider, run.assignmentId, stdout("1", "2", "3"))).appendLogs).toEqual({ accepted: 3, dropped: 0, full: false });
    expect(must(await append(bounded, run.provider, run.assignmentId, stdout("4", "5", "6", "7"))).appendLogs).toEqual({ accepted: 2, dropped: 2, full: true });
    expect(must(await append(bounded, run.provider, run.assignmentId, stdout("8"))).appendLogs).toEqual({ accepted: 0, dropped: 1, full: true });
    const logs = must(await gql(bounded.url, `query L($id: ID!) { job(id: $id) { logs(last: 100) { seq line } } }`, { id: run.jobId }, run.client.token)).job.logs;
    expect(logs).toEqual(range(1, 5).map((i) => ({ seq: String(i), line: String(i) })));
    const [row] = await bounded.system.db.query(`SELECT log_lines, logs_dropped FROM assignments WHERE id = $1`, [run.assignmentId]);
    expect(row).toEqual({ log_lines: 5, logs_dropped: 3 });
  });
});
