import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { type GraphqlClient, isAuthError, isLostError, isPassingError } from "./client";
import { errorText } from "./error-text";
import { namePathProblem, shownName } from "./manifest";
import type { Transfer } from "./transfer";

/** An AssignmentInputs entry. */
export interface AssignmentInput {
  path: string;
  sizeBytes: string | number;
  sha256: string;
  downloadUrl: string;
}

/** How putting a job's inputs in place ended. */
export type InputsResult =
  | { kind: "ready" }
  /** The assignment is no longer this node's: nothing is to be reported. */
  | { kind: "lost" }
  /** A passing failure listing them: the run stays ASSIGNED and is tried again. */
  | { kind: "retry" }
  /** The agent is stopping. */
  | { kind: "stopped" }
  /** The run fails with this reason (at most 500 characters). */
  | { kind: "failed"; reason: string };

/** What downloading inputs needs of the run. */
export interface InputsContext {
  client: GraphqlClient;
  transfer: Transfer;
  /** Base for relative download URLs (the API URL). */
  apiUrl: string;
  log: Logger;
  /** Whether the agent is stopping (checked before each download). */
  stopping(): boolean;
}

/**
 * Lists the job's input files (AssignmentInputs), checks their paths, and downloads each under `inputDir` with its
 * sha256 and size checked. An auth error is thrown (the key was refused: the agent stops).
 */
export async function downloadInputs(ctx: InputsContext, assignmentId: string, inputDir: string): Promise<InputsResult> {
  let inputs: AssignmentInput[];
  try {
    const data = await ctx.client.request<{ assignmentInputs: AssignmentInput[] | null }>("AssignmentInputs", { id: assignmentId });
    inputs = data.assignmentInputs ?? [];
  } catch (err) {
    if (isAuthError(err)) throw err;
    if (isLostError(err)) {
      ctx.log.warn({ err: errorText(err) }, "the inputs could not be listed; the assignment is no longer this node's");
      return { kind: "lost" };
    }
    if (isPassingError(err)) {
      ctx.log.warn({ err: errorText(err) }, "AssignmentInputs failed; will try again");
      return { kind: "retry" };
    }
    return { kind: "failed", reason: `could not list the job's inputs: ${errorText(err)}`.slice(0, 500) };
  }
  const problem = inputListProblem(inputs);
  if (problem) return { kind: "failed", reason: problem.slice(0, 500) };
  for (const input of inputs) {
    if (ctx.stopping()) return { kind: "stopped" };
    const target = path.join(inputDir, ...input.path.split("/"));
    const url = new URL(input.downloadUrl, ctx.apiUrl).toString();
    let got;
    try {
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      got = await ctx.transfer.download(url, target);
    } catch (err) {
      return { kind: "failed", reason: `could not download input ${input.path}: ${errorText(err)}`.slice(0, 500) };
    }
    const sha256 = input.sha256.toLowerCase();
    const sizeBytes = String(input.sizeBytes);
    if (got.sha256 !== sha256 || String(got.sizeBytes) !== sizeBytes) {
      return { kind: "failed", reason: `input ${input.path} has sha256 ${got.sha256} and ${got.sizeBytes} bytes, expected sha256 ${sha256} and ${sizeBytes} bytes`.slice(0, 500) };
    }
    ctx.log.info({ input: input.path, sizeBytes: got.sizeBytes }, "input downloaded");
  }
  return { kind: "ready" };
}

/**
 * Why a job's input list cannot be put in place, or null: a path that fails {@link namePathProblem}, the same path
 * twice, a path under another input file, a sha256 that is not 64 hex digits, a size that is not a whole number.
 */
export function inputListProblem(inputs: readonly AssignmentInput[]): string | null {
  const files = new Set<string>();
  for (const input of inputs) {
    const name = typeof input.path === "string" ? input.path : "";
    const problem = namePathProblem(name);
    if (problem) return `input path ${shownName(name)} ${problem}`;
    if (files.has(name)) return `input path ${shownName(name)} is listed twice`;
    files.add(name);
    if (typeof input.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(input.sha256)) return `input ${shownName(name)} has no valid sha256`;
    if (!/^\d{1,19}$/.test(String(input.sizeBytes))) return `input ${shownName(name)} has no valid size`;
    if (typeof input.downloadUrl !== "string" || input.downloadUrl === "") return `input ${shownName(name)} has no download URL`;
  }
  for (const name of files) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      if (files.has(folder)) return `input path ${shownName(name)} lies under the input file ${shownName(folder)}`;
    }
  }
  return null;
}
