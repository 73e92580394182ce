import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ApiError } from "./client";
import { createProcessExecutor } from "./executors";
import type { Executor } from "./executors/types";
import { assignmentOf, FakeApi } from "./fake-api";
import { Runner, type RunnerOptions } from "./runner";
import { captureLogger } from "./test-logger";

const COUNTER = path.join(__dirname, "examples", "checkpoint-counter.js");
const API = "http://api.test:4000/graphql";
const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** The result hash of outputs, built here by hand: sha256 of "<sha256> <size> <name>\n" lines sorted by name. */
function manifestHash(outputs: Record<string, string | Buffer>): string {
  const names = Object.keys(outputs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return sha(names.map((n) => `${sha(outputs[n])} ${Buffer.byteLength(outputs[n])} ${n}\n`).join(""));
}

function chain(steps: number): string {
  let state = sha("gpu-exchange");
  for (let i = 0; i < steps; i++) state = sha(`${state}:${i}`);
  return state;
}

const counterJob = (env: Record<string, string>) => ({
  command: [process.execPath, COUNTER],
  env: Object.entries(env).map(([name, value]) => ({ name, value })),
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Runner against a fake API", () => {
  let workDir: string;
  let api: FakeApi;
  let runner: Runner | null;
  const fatal = jest.fn();

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), "gx-runner-"));
    api = new FakeApi();
    runner = null;
    fatal.mockReset();
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
      gpuIndexes: [0, 1],
      maxJobs: 1,
      pollMs: 60_000,
      onFatal: fatal,
      ...overrides,
    });
    runner.start();
    return runner;
  }

  const settled = (id: string) => () => [...api.callsOf("CompleteAssignment"), ...api.callsOf("FailAssignment")].some((v) => v.id === id);

  it("runs an offered assignment: start, progress, checkpoint uploads, complete with the result's sha256", async () => {
    start();
    await until(() => api.subscribed && api.callsOf("PendingAssignments").length === 1);
    api.offer(assignmentOf("a1", counterJob({ STEPS: "5", STEP_MS: "10", CHECKPOINT_EVERY: "2" })));
    await until(settled("a1"));

    expect(api.callsOf("StartAssignment")).toEqual([{ id: "a1" }]);
    expect(api.callsOf("CompleteAssignment")).toEqual([{ id: "a1", resultHash: manifestHash({ result: chain(5) }) }]);
    expect(api.callsOf("CreateOutputUpload")).toEqual([{ id: "a1", name: "result", sha256: sha(chain(5)), sizeBytes: "64" }]);
    expect(api.storedOutput("a1", "result")?.toString()).toBe(chain(5));
    expect(api.callsOf("FailAssignment")).toEqual([]);

    const progress = api.callsOf("ReportProgress");
    // throttled: the newest line at each send (on a busy machine several lines can arrive between two), in order,
    // ending with the last step
    const steps = progress.map((p) => Number(/^step (\d)$/.exec(String(p.message))?.[1]));
    expect(progress).toEqual(steps.map((n) => ({ id: "a1", progress: n / 5, message: `step ${n}` })));
    expect([...steps].sort()).toEqual(steps);
    expect(new Set(steps).size).toBe(steps.length);
    expect(progress.at(-1)).toEqual({ id: "a1", progress: 1, message: "step 5" });
    expect(progress.length).toBeLessThanOrEqual(3);

    const creates = api.callsOf("ReserveCheckpoint");
    expect(creates.map((c) => c.step)).toEqual([2, 4]);
    for (const c of creates) {
      const body = JSON.stringify({ step: c.step, state: chain(Number(c.step)) });
      expect(c).toEqual({ id: "a1", step: c.step, sha256: sha(body), sizeBytes: String(Buffer.byteLength(body)) });
    }
    expect(api.uploaded.map((u) => u.url)).toEqual(["http://api.test:4000/checkpoints/a1-2?sig=x", "http://api.test:4000/checkpoints/a1-4?sig=x"]);
    expect(api.uploaded[1].bytes.toString()).toBe(JSON.stringify({ step: 4, state: chain(4) }));

    const calls = api.calls.map((c) => c.op).filter((op) => op !== "PendingAssignments");
    expect(calls.slice(0, 2)).toEqual(["AssignmentInputs", "StartAssignment"]);
    expect(calls.at(-1)).toBe("CompleteAssignment");
    await until(() => runner?.active === 0);
    expect(await readdir(workDir)).toEqual([]);
  });

  it("fails an assignment whose workload exits non-zero, with the exit code and stderr", async () => {
    api.offer(assignmentOf("a2", { command: [process.execPath, "-e", "console.error('out of memory'); process.exit(3)"] }));
    start();
    await until(settled("a2"));
    expect(api.callsOf("FailAssignment")).toEqual([{ id: "a2", reason: "exit code 3: out of memory" }]);
    expect(api.callsOf("CompleteAssignment")).toEqual([]);
  });

  it("fails an assignment that exits 0 without any output", async () => {
    api.offer(assignmentOf("a3", { command: [process.execPath, "-e", "0"] }));
    start();
    await until(settled("a3"));
    expect(api.callsOf("FailAssignment")).toEqual([{ id: "a3", reason: "the workload exited with code 0 but wrote no output (GX_OUTPUT_DIR is empty and GX_RESULT_FILE was not written)" }]);
  });

  it("resumes from a downloaded checkpoint after checking its sha256", async () => {
    const ckpt = Buffer.from(JSON.stringify({ step: 3, state: chain(3) }));
    api.downloads.set("http://api.test:4000/checkpoints/c3?sig=y", ckpt);
    api.offer(assignmentOf("a4", counterJob({ STEPS: "5", STEP_MS: "10" }), { attempt: 2, resumeFrom: { step: 3, sha256: sha(ckpt), downloadUrl: "/checkpoints/c3?sig=y" } }));
    start();
    await until(settled("a4"));
    expect(api.callsOf("CompleteAssignment")).toEqual([{ id: "a4", resultHash: manifestHash({ result: chain(5) }) }]);
    // it went on from step 3: no report of an earlier step (throttled, the first may already be step 5 on a busy machine)
    const reported = api.callsOf("ReportProgress").map((p) => Number(p.progress));
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.every((p) => p >= 0.8)).toBe(true);
  });

  it("fails instead of starting when the resume checkpoint's sha256 differs", async () => {
    api.downloads.set("http://x/c", Buffer.from("tampered"));
    api.offer(assignmentOf("a5", counterJob({}), { resumeFrom: { step: 3, sha256: "a".repeat(64), downloadUrl: "http://x/c" } }));
    start();
    await until(settled("a5"));
    expect(api.callsOf("StartAssignment")).toEqual([]);
    expect(api.callsOf("FailAssignment")[0].reason).toMatch(/step 3 .*sha256 .*expected a{64}/);
  });

  it("stops the workload and reports nothing more when progress answers CONFLICT", async () => {
    api.overrides.set("ReportProgress", () => {
      throw new ApiError("CONFLICT", "assignment is EXPIRED");
    });
    api.offer(assignmentOf("a6", counterJob({ STEPS: "100000", STEP_MS: "10" })));
    const r = start({ lostGraceMs: 2000 });
    await until(() => api.callsOf("ReportProgress").length > 0);
    await until(() => r.active === 0);
    expect(api.callsOf("CompleteAssignment")).toEqual([]);
    expect(api.callsOf("FailAssignment")).toEqual([]);
    expect(api.callsOf("ReportProgress")).toHaveLength(1);
    expect(await readdir(workDir)).toEqual([]);
  });

  it("uploads a step once and goes on when a checkpoint is refused with CONFLICT", async () => {
    const script = [
      "const fs = require('fs'), p = require('path');",
      "fs.writeFileSync(p.join(process.env.GX_CHECKPOINT_DIR, 'a'), 'A');",
      "console.log('checkpoint 1 a'); console.log('checkpoint 1 a');",
      "fs.writeFileSync(p.join(process.env.GX_CHECKPOINT_DIR, 'b'), 'B');",
      "console.log('checkpoint 2 b'); console.log('checkpoint 3 missing');",
      "fs.writeFileSync(process.env.GX_RESULT_FILE, 'done');",
    ].join(" ");
    api.overrides.set("ReserveCheckpoint", (vars) => {
      if (vars.step === 2) throw new ApiError("CONFLICT", "step 2 of this assignment is already stored");
      return { createCheckpointUpload: { uploadUrl: `http://store.test/${String(vars.step)}`, checkpoint: { step: vars.step, sha256: vars.sha256 } } };
    });
    api.offer(assignmentOf("f1", { command: [process.execPath, "-e", script] }));
    start();
    await until(settled("f1"));
    expect(api.callsOf("ReserveCheckpoint").map((v) => v.step)).toEqual([1, 2]);
    expect(api.uploaded).toEqual([{ url: "http://store.test/1", bytes: Buffer.from("A") }]);
    expect(api.callsOf("CompleteAssignment")).toEqual([{ id: "f1", resultHash: manifestHash({ result: "done" }) }]);
  });

  it("runs each assignment once and at most maxJobs at a time", async () => {
    for (const id of ["b1", "b2", "b3"]) api.offer(assignmentOf(id, counterJob({ STEPS: "3", STEP_MS: "10" })));
    api.overrides.set("PendingAssignments", () => ({ assignments: [...api.pending.values(), assignmentOf("b1", counterJob({}))] }));
    start({ pollMs: 20 });
    await until(() => ["b1", "b2", "b3"].every((id) => settled(id)()));
    expect(api.maxActiveRuns).toBe(1);
    expect(api.callsOf("StartAssignment").map((v) => v.id)).toEqual(["b1", "b2", "b3"]);
    expect(api.callsOf("CompleteAssignment")).toHaveLength(3);
  });

  it("runs two at once with maxJobs 2 and splits the GPUs", async () => {
    const seen: string[] = [];
    const executor: Executor = {
      ...createProcessExecutor({ PATH: "/usr/bin:/bin" }),
      start(spec, onLine) {
        seen.push(spec.protocol.gpuIndexes.join(","));
        return createProcessExecutor({ PATH: "/usr/bin:/bin" }).start(spec, onLine);
      },
    };
    for (const id of ["c1", "c2"]) api.offer(assignmentOf(id, counterJob({ STEPS: "10", STEP_MS: "20" })));
    start({ maxJobs: 2, executor });
    await until(() => settled("c1")() && settled("c2")());
    expect(api.maxActiveRuns).toBe(2);
    expect(seen.sort()).toEqual(["0", "1"]);
  });

  it("refuses jobs it cannot run, with a clear reason", async () => {
    api.offer(assignmentOf("d1", { command: [] }));
    api.offer(assignmentOf("d2", { ...counterJob({}), requirements: { gpuCount: 4, minVramGb: 1 } }));
    start({ maxJobs: 2 });
    await until(() => settled("d1")() && settled("d2")());
    const reasons = Object.fromEntries(api.callsOf("FailAssignment").map((v) => [v.id, v.reason]));
    expect(reasons.d1).toMatch(/no command/);
    expect(reasons.d2).toBe("the job needs 4 GPUs; this node offers 2");
    api.offer({ id: "d3", job: { id: "j" } });
    await until(settled("d3"));
    expect(api.callsOf("FailAssignment").at(-1)).toEqual({ id: "d3", reason: expect.stringMatching(/^the agent could not read this assignment \(job\./) });
  });

  it("on stop, lets the workload checkpoint and upload, then fails it with 'agent stopped'", async () => {
    api.offer(assignmentOf("e1", counterJob({ STEPS: "100000", STEP_MS: "10", CHECKPOINT_EVERY: "100000" })));
    const r = start();
    await until(() => api.callsOf("ReportProgress").length > 0);
    await r.stop(5000);
    expect(api.callsOf("FailAssignment")).toEqual([{ id: "e1", reason: "agent stopped" }]);
    const creates = api.callsOf("ReserveCheckpoint");
    expect(creates).toHaveLength(1);
    expect(api.uploaded).toHaveLength(1);
    const saved = JSON.parse(api.uploaded[0].bytes.toString());
    expect(saved.step).toBe(creates[0].step);
    expect(saved.state).toBe(chain(saved.step));
    expect(api.subscribed).toBe(false);
  });

  it("reports a refused key as fatal", async () => {
    api.overrides.set("PendingAssignments", () => {
      throw new ApiError("UNAUTHENTICATED", "bad key");
    });
    start();
    await until(() => fatal.mock.calls.length > 0);
    expect(fatal.mock.calls[0][0]).toBeInstanceOf(ApiError);
  });
});
