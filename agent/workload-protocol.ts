import path from "node:path";

/** A line of workload stdout the agent understands. */
export type WorkloadLine =
  | { kind: "progress"; progress: number; message: string | null }
  | { kind: "checkpoint"; step: number; fileName: string }
  | { kind: "other"; text: string };

/** Largest checkpoint step GraphQL's Int carries. */
export const MAX_STEP = 2 ** 31 - 1;
const MAX_MESSAGE = 200;
const FILE_NAME = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * Reads one stdout line: `progress <0..1> [message]` or `checkpoint <step> <file name>` (a plain name in
 * GX_CHECKPOINT_DIR: letters, digits, `.`, `_`, `-`, not `.` or `..`). Anything else, malformed ones included,
 * is `other`.
 */
export function parseWorkloadLine(line: string): WorkloadLine {
  const text = line.replace(/\r$/, "");
  const progress = /^progress\s+(\S+)(?:\s+(.*))?$/.exec(text);
  if (progress) {
    const value = Number(progress[1]);
    if (/^[0-9.eE+-]+$/.test(progress[1]) && Number.isFinite(value) && value >= 0 && value <= 1) {
      const message = progress[2]?.trim() ?? "";
      return { kind: "progress", progress: value, message: message === "" ? null : message.slice(0, MAX_MESSAGE) };
    }
  }
  const checkpoint = /^checkpoint\s+(\d{1,10})\s+(\S+)\s*$/.exec(text);
  if (checkpoint) {
    const step = Number(checkpoint[1]);
    const fileName = checkpoint[2];
    if (step <= MAX_STEP && FILE_NAME.test(fileName) && fileName !== "." && fileName !== "..") {
      return { kind: "checkpoint", step, fileName };
    }
  }
  return { kind: "other", text };
}

/** Where things live in a scratch folder, seen from `root` (the host path, or /gx inside a container). */
export interface ScratchLayout {
  root: string;
  checkpointDir: string;
  /** The job's input files, downloaded before the workload starts (GX_INPUT_DIR). */
  inputDir: string;
  /** Everything the workload writes here is an output, uploaded after exit code 0 (GX_OUTPUT_DIR). */
  outputDir: string;
  /** The output named `result` (GX_RESULT_FILE). */
  resultFile: string;
  resumeFile: string;
}

/** The output name GX_RESULT_FILE points at. */
export const RESULT_OUTPUT = "result";

/** The scratch layout under `root`: checkpoints/ (with resume.ckpt), inputs/, outputs/ (with the output `result`). */
export function scratchLayout(root: string, join: (...parts: string[]) => string = path.join): ScratchLayout {
  const checkpointDir = join(root, "checkpoints");
  const outputDir = join(root, "outputs");
  return { root, checkpointDir, inputDir: join(root, "inputs"), outputDir, resultFile: join(outputDir, RESULT_OUTPUT), resumeFile: join(checkpointDir, "resume.ckpt") };
}

/** What the protocol tells a workload about its assignment. */
export interface ProtocolContext {
  jobId: string;
  assignmentId: string;
  attempt: number;
  resumeStep: number | null;
  inputUri: string | null;
  checkpointIntervalSeconds: number | null;
  gpuIndexes: readonly number[];
}

/**
 * The protocol's environment: GX_JOB_ID, GX_ASSIGNMENT_ID, GX_ATTEMPT, GX_CHECKPOINT_DIR, GX_INPUT_DIR,
 * GX_OUTPUT_DIR, GX_RESULT_FILE, GX_GPUS, and when they apply GX_RESUME_STEP + GX_RESUME_FILE, GX_INPUT_URI, GX_CHECKPOINT_INTERVAL_S.
 */
export function protocolEnv(ctx: ProtocolContext, layout: ScratchLayout): Record<string, string> {
  const env: Record<string, string> = {
    GX_JOB_ID: ctx.jobId,
    GX_ASSIGNMENT_ID: ctx.assignmentId,
    GX_ATTEMPT: String(ctx.attempt),
    GX_CHECKPOINT_DIR: layout.checkpointDir,
    GX_INPUT_DIR: layout.inputDir,
    GX_OUTPUT_DIR: layout.outputDir,
    GX_RESULT_FILE: layout.resultFile,
    GX_GPUS: ctx.gpuIndexes.join(","),
  };
  if (ctx.resumeStep !== null) {
    env.GX_RESUME_STEP = String(ctx.resumeStep);
    env.GX_RESUME_FILE = layout.resumeFile;
  }
  if (ctx.inputUri !== null) env.GX_INPUT_URI = ctx.inputUri;
  if (ctx.checkpointIntervalSeconds !== null) env.GX_CHECKPOINT_INTERVAL_S = String(ctx.checkpointIntervalSeconds);
  return env;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The job's env list as a record; names that are not shell-style identifiers are dropped and returned apart. */
export function jobEnvRecord(list: readonly { name: string; value: string }[]): { env: Record<string, string>; dropped: string[] } {
  const env: Record<string, string> = {};
  const dropped: string[] = [];
  for (const { name, value } of list) {
    if (ENV_NAME.test(name) && !value.includes("\u0000")) env[name] = value;
    else dropped.push(name.slice(0, 64));
  }
  return { env, dropped };
}

/** The reason sent with FailAssignment for a workload that ended badly: "exit code N: <last 300 chars of stderr>". */
export function failureReason(exit: { code: number | null; signal: string | null; stderrTail: string; error?: string }): string {
  const tail = exit.stderrTail.trim().slice(-300);
  const head = exit.error !== undefined ? `could not start: ${exit.error}` : exit.code !== null ? `exit code ${exit.code}` : `killed by ${exit.signal ?? "a signal"}`;
  return tail.length > 0 ? `${head}: ${tail}` : head;
}
