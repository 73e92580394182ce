import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { scratchLayout } from "../workload-protocol";
import { createProcessExecutor } from "./process-executor";
import type { WorkloadExit, WorkloadSpec } from "./types";

const COUNTER = path.join(__dirname, "..", "examples", "checkpoint-counter.js");
const executor = createProcessExecutor({ PATH: "/usr/local/bin:/usr/bin:/bin" });

function chain(steps: number): string {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  let state = sha("gpu-exchange");
  for (let i = 0; i < steps; i++) state = sha(`${state}:${i}`);
  return state;
}

describe("process executor with examples/checkpoint-counter.js", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "gx-proc-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  async function scratch(name: string): Promise<string> {
    const dir = path.join(root, name);
    await mkdir(path.join(dir, "checkpoints"), { recursive: true });
    await mkdir(path.join(dir, "inputs"), { recursive: true });
    await mkdir(path.join(dir, "outputs"), { recursive: true });
    return dir;
  }

  function spec(dir: string, env: Record<string, string>, resumeStep: number | null = null, command = [process.execPath, COUNTER]): WorkloadSpec {
    return {
      assignmentId: path.basename(dir),
      scratchDir: dir,
      image: null,
      command,
      jobEnv: env,
      protocol: { jobId: "job-1", assignmentId: path.basename(dir), attempt: 1, resumeStep, inputUri: null, checkpointIntervalSeconds: null, gpuIndexes: [1, 3] },
    };
  }

  async function run(s: WorkloadSpec): Promise<{ lines: string[]; errLines: string[]; exit: WorkloadExit }> {
    const lines: string[] = [];
    const errLines: string[] = [];
    const exit = await executor.start(s, (l) => (l.stream === "stdout" ? lines : errLines).push(l.text)).exit;
    return { lines, errLines, exit };
  }

  it("streams progress and checkpoints and writes the hash chain as the result", async () => {
    const dir = await scratch("full");
    const { lines, exit } = await run(spec(dir, { STEPS: "5", STEP_MS: "10" }));
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(lines.filter((l) => l.startsWith("progress"))).toEqual(["progress 0.2 step 1", "progress 0.4 step 2", "progress 0.6 step 3", "progress 0.8 step 4", "progress 1 step 5"]);
    expect(lines.filter((l) => l.startsWith("checkpoint"))).toEqual([1, 2, 3, 4, 5].map((n) => `checkpoint ${n} step-${n}.json`));
    const layout = scratchLayout(dir);
    expect(await readFile(layout.resultFile, "utf8")).toBe(chain(5));
    expect(JSON.parse(await readFile(path.join(layout.checkpointDir, "step-3.json"), "utf8"))).toEqual({ step: 3, state: chain(3) });
  });

  it("resumes from the checkpoint of step 3 to the same result", async () => {
    const first = await scratch("first");
    await run(spec(first, { STEPS: "5", STEP_MS: "10" }));
    const second = await scratch("resumed");
    const layout = scratchLayout(second);
    await copyFile(path.join(first, "checkpoints", "step-3.json"), layout.resumeFile);
    const { lines, exit } = await run(spec(second, { STEPS: "5", STEP_MS: "10" }, 3));
    expect(exit.code).toBe(0);
    expect(lines.filter((l) => l.startsWith("progress"))).toEqual(["progress 0.8 step 4", "progress 1 step 5"]);
    expect(await readFile(layout.resultFile, "utf8")).toBe(chain(5));
  });

  it("checkpoints and exits 143 on SIGTERM", async () => {
    const dir = await scratch("stopped");
    const lines: string[] = [];
    let sawProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (sawProgress = resolve));
    const workload = executor.start(spec(dir, { STEPS: "100000", STEP_MS: "20", CHECKPOINT_EVERY: "1000" }), ({ stream, text }) => {
      if (stream !== "stdout") return;
      lines.push(text);
      if (text.startsWith("progress 0.0000")) sawProgress();
    });
    await progressed;
    await workload.stop(10_000);
    const exit = await workload.exit;
    expect(exit).toMatchObject({ code: 143 });
    const announced = lines.filter((l) => l.startsWith("checkpoint"));
    expect(announced).toHaveLength(1);
    const [, step, name] = announced[0].split(" ");
    const saved = JSON.parse(await readFile(path.join(dir, "checkpoints", name), "utf8"));
    expect(saved).toEqual({ step: Number(step), state: chain(Number(step)) });
    expect(Number(step)).toBeGreaterThan(0);
  });

  it("gives the workload a minimal environment with the protocol winning", async () => {
    const dir = await scratch("env");
    const print = [process.execPath, "-e", "process.stdout.write(JSON.stringify(process.env))"];
    const { lines, exit } = await run(spec(dir, { MY_VAR: "1", GX_RESULT_FILE: "/etc/passwd", CUDA_VISIBLE_DEVICES: "0,1,2,3" }, null, print));
    expect(exit.code).toBe(0);
    const env = JSON.parse(lines.join("\n"));
    expect(Object.keys(env).sort()).toEqual(
      ["CUDA_VISIBLE_DEVICES", "GX_ASSIGNMENT_ID", "GX_ATTEMPT", "GX_CHECKPOINT_DIR", "GX_GPUS", "GX_INPUT_DIR", "GX_JOB_ID", "GX_OUTPUT_DIR", "GX_RESULT_FILE", "HOME", "LANG", "MY_VAR", "PATH"].sort(),
    );
    expect(env).toMatchObject({ HOME: dir, GX_RESULT_FILE: path.join(dir, "outputs", "result"), GX_OUTPUT_DIR: path.join(dir, "outputs"), GX_INPUT_DIR: path.join(dir, "inputs"), CUDA_VISIBLE_DEVICES: "1,3", GX_GPUS: "1,3" });
  });

  it("keeps the tail of stderr and reports a missing program", async () => {
    const dir = await scratch("fail");
    const { exit } = await run(spec(dir, {}, null, [process.execPath, "-e", "process.stderr.write('x'.repeat(5000) + 'boom'); process.exit(7)"]));
    expect(exit.code).toBe(7);
    expect(exit.stderrTail.length).toBe(4096);
    expect(exit.stderrTail.endsWith("boom")).toBe(true);
    const missing = await run(spec(dir, {}, null, ["/no/such/program"]));
    expect(missing.exit.error).toMatch(/ENOENT/);
  });

  it("delivers stderr lines apart from stdout, UTF-8 split across writes kept whole, the last line without a newline", async () => {
    const dir = await scratch("streams");
    const script = [
      "const e = Buffer.from('é\\n');",
      "process.stdout.write('out 1\\nout 2\\n');",
      "process.stderr.write('err 1\\nerr ');",
      "process.stderr.write(e.subarray(0, 1)); setTimeout(() => { process.stderr.write(e.subarray(1)); process.stderr.write('tail'); }, 20);",
    ].join(" ");
    const { lines, errLines, exit } = await run(spec(dir, {}, null, [process.execPath, "-e", script]));
    expect(exit.code).toBe(0);
    expect(lines).toEqual(["out 1", "out 2"]);
    expect(errLines).toEqual(["err 1", "err é", "tail"]);
    expect(exit.stderrTail).toBe("err 1\nerr é\ntail");
  });

  it("refuses an empty command", () => {
    expect(executor.refusal(spec(root, {}, null, []))).toMatch(/no command/);
    expect(executor.refusal(spec(root, {}))).toBeNull();
  });
});
