import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Clock } from "./clock";
import { createProcessExecutor } from "./executors";
import { assignmentOf, FakeApi } from "./fake-api";
import { Runner, type RunnerOptions } from "./runner";
import { captureLogger } from "./test-logger";

const API = "http://api.test:4000/graphql";
const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** The result hash of outputs, built here by hand: sha256 of "<sha256> <size> <name>\n" lines sorted by name. */
function manifestHash(outputs: Record<string, string | Buffer>): string {
  const names = Object.keys(outputs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return sha(names.map((n) => `${sha(outputs[n])} ${Buffer.byteLength(outputs[n])} ${n}\n`).join(""));
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A clock whose timers fire on the next turn of the event loop, whatever their delay (recorded). */
function instantClock(delays: number[]): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => (delays.push(ms), setImmediate(fn)),
    clearTimeout: (handle) => clearImmediate(handle as NodeJS.Immediate),
  };
}

const node = (script: string) => ({ command: [process.execPath, "-e", script] });

describe("the data plane: inputs, outputs, logs", () => {
  let workDir: string;
  let api: FakeApi;
  let runner: Runner | null;

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "gx-data-"));
    api = new FakeApi();
    runner = null;
  });
  afterEach(async () => {
    await runner?.stop(2000);
    await rm(workDir, { recursive: true, force: true });
  });

  function start(overrides: Partial<RunnerOptions> = {}): Runner {
    runner = new Runner({
      client: api,
      executor: createProcessExecutor({ PATH: "/usr/bin:/bin" }),
      transfer: api,
      logger: captureLogger("silent").logger,
      workDir,
      apiUrl: API,
      nodeId: "node-1",
      gpuIndexes: [0],
      maxJobs: 1,
      pollMs: 60_000,
      onFatal: () => undefined,
      ...overrides,
    });
    runner.start();
    return runner;
  }

  const settled = (id: string) => () => [...api.callsOf("CompleteAssignment"), ...api.callsOf("FailAssignment")].some((v) => v.id === id);
  const reasonOf = (id: string) => api.callsOf("FailAssignment").find((v) => v.id === id)?.reason;
  const train = Buffer.from("x,y\n1,2\n");
  const config = Buffer.from('{"lr":0.1}');
  const inputsOf = (overrides: Partial<{ path: string; sha256: string }> = {}) => [
    { path: "data/train.csv", sizeBytes: String(train.length), sha256: sha(train), downloadUrl: "/inputs/train?sig=1", ...overrides },
    { path: "config.json", sizeBytes: String(config.length), sha256: sha(config).toUpperCase(), downloadUrl: "http://store.test/config?sig=2" },
  ];

  it("downloads the inputs into GX_INPUT_DIR before starting, and uploads every output of GX_OUTPUT_DIR", async () => {
    api.downloads.set("http://api.test:4000/inputs/train?sig=1", train);
    api.downloads.set("http://store.test/config?sig=2", config);
    api.inputs.set("i1", inputsOf());
    const script = [
      "const fs = require('fs'), p = require('path');",
      "const i = process.env.GX_INPUT_DIR, o = process.env.GX_OUTPUT_DIR;",
      "fs.mkdirSync(p.join(o, 'copy', 'deep'), { recursive: true });",
      "fs.writeFileSync(p.join(o, 'copy', 'deep', 'train.csv'), fs.readFileSync(p.join(i, 'data', 'train.csv')));",
      "fs.writeFileSync(p.join(o, 'z-last'), '');",
      "const env = { I: i, O: o, R: process.env.GX_RESULT_FILE, mode: (fs.statSync(p.join(i, 'data')).mode & 0o777).toString(8) };",
      "fs.writeFileSync(process.env.GX_RESULT_FILE, JSON.stringify({ env, config: fs.readFileSync(p.join(i, 'config.json'), 'utf8') }));",
    ].join(" ");
    api.offer(assignmentOf("i1", node(script)));
    start();
    await until(settled("i1"));
    expect(reasonOf("i1")).toBeUndefined();
    const ops = api.calls.map((c) => c.op);
    expect(ops.indexOf("AssignmentInputs")).toBeLessThan(ops.indexOf("StartAssignment"));

    const result = api.storedOutput("i1", "result");
    const seen = JSON.parse(String(result));
    const scratch = path.dirname(seen.env.I);
    expect(seen).toEqual({
      env: { I: path.join(scratch, "inputs"), O: path.join(scratch, "outputs"), R: path.join(scratch, "outputs", "result"), mode: "700" },
      config: config.toString(),
    });
    expect(api.storedOutput("i1", "copy/deep/train.csv")).toEqual(train);
    const outputs = { "copy/deep/train.csv": train, result: result as Buffer, "z-last": "" };
    expect(api.callsOf("CreateOutputUpload").map((v) => v.name).sort()).toEqual(Object.keys(outputs).sort());
    expect(api.callsOf("CreateOutputUpload").find((v) => v.name === "copy/deep/train.csv")).toEqual({ id: "i1", name: "copy/deep/train.csv", sha256: sha(train), sizeBytes: String(train.length) });
    expect(api.callsOf("CompleteAssignment")).toEqual([{ id: "i1", resultHash: manifestHash(outputs) }]);
    await until(() => runner?.active === 0);
    expect(await readdir(workDir)).toEqual([]);
  });

  it("fails, without starting, an assignment with a bad input path", async () => {
    api.inputs.set("i2", inputsOf({ path: "../../.ssh/authorized_keys" }));
    api.offer(assignmentOf("i2", node("0")));
    start();
    await until(settled("i2"));
    expect(reasonOf("i2")).toBe('input path "../../.ssh/authorized_keys" has a ".." component');
    expect(api.callsOf("StartAssignment")).toEqual([]);
  });

  it("fails, without starting, an assignment whose input has another sha256", async () => {
    api.downloads.set("http://api.test:4000/inputs/train?sig=1", Buffer.from("tampered"));
    api.inputs.set("i3", inputsOf());
    api.offer(assignmentOf("i3", node("0")));
    start();
    await until(settled("i3"));
    expect(reasonOf("i3")).toBe(`input data/train.csv has sha256 ${sha("tampered")} and 8 bytes, expected sha256 ${sha(train)} and ${train.length} bytes`);
    expect(api.callsOf("StartAssignment")).toEqual([]);
  });

  it("fails an assignment that leaves a symlink in its outputs, uploading nothing", async () => {
    const script = "const fs = require('fs'), p = require('path'); fs.writeFileSync(process.env.GX_RESULT_FILE, 'r'); fs.symlinkSync('/etc/passwd', p.join(process.env.GX_OUTPUT_DIR, 'leak'));";
    api.offer(assignmentOf("o1", node(script)));
    start();
    await until(settled("o1"));
    expect(reasonOf("o1")).toBe("output leak is not a regular file");
    expect(api.callsOf("CreateOutputUpload")).toEqual([]);
  });

  it("retries an upload answered 503, then completes", async () => {
    const delays: number[] = [];
    api.putAnswers.push({ status: 503, message: "the store is unavailable" });
    api.offer(assignmentOf("o2", node("require('fs').writeFileSync(process.env.GX_RESULT_FILE, 'ok')")));
    start({ clock: instantClock(delays) });
    await until(settled("o2"));
    expect(api.putAttempts.map((a) => a.status)).toEqual([503, 201]);
    expect(delays.filter((d) => d >= 1000 && d <= 1200)).toHaveLength(1); // the first backoff: 1 s and up to 20% jitter
    expect(api.callsOf("CompleteAssignment")).toEqual([{ id: "o2", resultHash: manifestHash({ result: "ok" }) }]);
  });

  it("fails with the store's reason when an upload is answered 400", async () => {
    api.putAnswers.push({ status: 400, message: "sha256 mismatch" });
    api.offer(assignmentOf("o3", node("require('fs').writeFileSync(process.env.GX_RESULT_FILE, 'ok')")));
    start();
    await until(settled("o3"));
    expect(reasonOf("o3")).toBe("could not upload output result: 400 sha256 mismatch");
    expect(api.callsOf("CompleteAssignment")).toEqual([]);
  });

  it("ships stdout (protocol lines left out) and stderr lines in order, all before CompleteAssignment", async () => {
    const script = [
      "const later = (ms, f) => new Promise((r) => setTimeout(() => { f(); r(); }, ms));",
      "(async () => {",
      "console.log('hello'); console.log('progress 0.5 half'); console.log('progress 2'); console.log('checkpoint 1 missing');",
      "await later(100, () => console.error('warn 1'));",
      "await later(100, () => console.log('after'));",
      "await later(100, () => { console.error('warn 2'); require('fs').writeFileSync(process.env.GX_RESULT_FILE, 'ok'); });",
      "})();",
    ].join(" ");
    api.offer(assignmentOf("l1", node(script)));
    start();
    await until(settled("l1"));
    expect(api.logLines.map((l) => [l.stream, l.line])).toEqual([
      ["STDOUT", "hello"],
      ["STDOUT", "progress 2"],
      ["STDERR", "warn 1"],
      ["STDOUT", "after"],
      ["STDERR", "warn 2"],
    ]);
    expect(api.logLines.every((l) => l.id === "l1" && !Number.isNaN(Date.parse(l.at)))).toBe(true);
    const ops = api.calls.map((c) => c.op);
    expect(ops.lastIndexOf("AppendLogs")).toBeLessThan(ops.indexOf("CompleteAssignment"));
  });

  it("flushes the last lines before CompleteAssignment and before FailAssignment", async () => {
    api.offer(assignmentOf("l2", node("console.log('bye'); require('fs').writeFileSync(process.env.GX_RESULT_FILE, 'ok')")));
    api.offer(assignmentOf("l3", node("console.error('out of memory'); process.exit(3)")));
    start({ logLimits: { flushMs: 60_000 } });
    await until(() => settled("l2")() && settled("l3")());
    const ops = api.calls.map((c) => `${c.op}:${String(c.vars.id)}`);
    expect(ops.indexOf("AppendLogs:l2")).toBeGreaterThan(-1);
    expect(ops.indexOf("AppendLogs:l2")).toBeLessThan(ops.indexOf("CompleteAssignment:l2"));
    expect(ops.indexOf("AppendLogs:l3")).toBeLessThan(ops.indexOf("FailAssignment:l3"));
    expect(api.logLines.map((l) => `${l.id} ${l.stream} ${l.line}`)).toEqual(["l2 STDOUT bye", "l3 STDERR out of memory"]);
    expect(reasonOf("l3")).toBe("exit code 3: out of memory");
  });

  it("stops sending logs when the server says the job's log is full", async () => {
    api.logsFull = true;
    const script = "(async () => { for (let i = 0; i < 5; i++) { console.log('line ' + i); await new Promise((r) => setTimeout(r, 300)); } require('fs').writeFileSync(process.env.GX_RESULT_FILE, 'ok'); })()";
    api.offer(assignmentOf("l4", node(script)));
    start({ logLimits: { flushMs: 10 } });
    await until(settled("l4"));
    expect(api.callsOf("AppendLogs")).toHaveLength(1);
    expect(api.logLines.map((l) => l.line)).toEqual(["line 0"]);
    expect(api.callsOf("CompleteAssignment")).toHaveLength(1);
  });
});
