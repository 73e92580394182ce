import { failureReason, jobEnvRecord, parseWorkloadLine, protocolEnv, scratchLayout } from "./workload-protocol";

describe("parseWorkloadLine", () => {
  it("reads progress with and without a message", () => {
    expect(parseWorkloadLine("progress 0.25 epoch 1 of 4")).toEqual({ kind: "progress", progress: 0.25, message: "epoch 1 of 4" });
    expect(parseWorkloadLine("progress 1")).toEqual({ kind: "progress", progress: 1, message: null });
    expect(parseWorkloadLine("progress 0\r")).toEqual({ kind: "progress", progress: 0, message: null });
  });

  it("reads checkpoints", () => {
    expect(parseWorkloadLine("checkpoint 12 step-12.json")).toEqual({ kind: "checkpoint", step: 12, fileName: "step-12.json" });
  });

  it.each(["progress 1.5", "progress -0.1", "progress abc", "progress NaN", "progress Infinity", "checkpoint x a.json", "checkpoint 1 ../etc/passwd", "checkpoint 1 a/b", "checkpoint 1 ..", "checkpoint 99999999999 a", "hello"])(
    "treats %j as other output",
    (line) => {
      expect(parseWorkloadLine(line).kind).toBe("other");
    },
  );
});

describe("protocolEnv", () => {
  const layout = scratchLayout("/w/a1");
  it("sets the resume variables only when resuming", () => {
    const base = { jobId: "j", assignmentId: "a1", attempt: 1, resumeStep: null, inputUri: null, checkpointIntervalSeconds: null, gpuIndexes: [0, 1] };
    expect(protocolEnv(base, layout)).toEqual({
      GX_JOB_ID: "j",
      GX_ASSIGNMENT_ID: "a1",
      GX_ATTEMPT: "1",
      GX_CHECKPOINT_DIR: "/w/a1/checkpoints",
      GX_INPUT_DIR: "/w/a1/inputs",
      GX_OUTPUT_DIR: "/w/a1/outputs",
      GX_RESULT_FILE: "/w/a1/outputs/result",
      GX_GPUS: "0,1",
    });
    expect(protocolEnv({ ...base, resumeStep: 3, inputUri: "https://x/in" }, layout)).toMatchObject({
      GX_RESUME_STEP: "3",
      GX_RESUME_FILE: "/w/a1/checkpoints/resume.ckpt",
      GX_INPUT_URI: "https://x/in",
    });
  });
});

describe("jobEnvRecord", () => {
  it("drops names that are not identifiers", () => {
    expect(jobEnvRecord([{ name: "A_1", value: "x" }, { name: "1BAD", value: "y" }, { name: "B=C", value: "z" }])).toEqual({ env: { A_1: "x" }, dropped: ["1BAD", "B=C"] });
  });
});

describe("failureReason", () => {
  it("names the exit code and the last 300 characters of stderr", () => {
    const reason = failureReason({ code: 3, signal: null, stderrTail: `${"x".repeat(400)}END\n` });
    expect(reason.startsWith("exit code 3: ")).toBe(true);
    expect(reason.length).toBe("exit code 3: ".length + 300);
    expect(reason.endsWith("END")).toBe(true);
    expect(failureReason({ code: null, signal: "SIGKILL", stderrTail: "" })).toBe("killed by SIGKILL");
    expect(failureReason({ code: null, signal: null, stderrTail: "", error: "spawn nope ENOENT" })).toBe("could not start: spawn nope ENOENT");
  });
});
