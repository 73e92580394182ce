import type { ChildProcess } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import type { OutputLine, OutputStream, WorkloadExit } from "./types";

/** Bytes of stderr kept for failure reasons. */
export const STDERR_TAIL_BYTES = 4096;
const MAX_LINE_BYTES = 64 * 1024;
const DRAIN_MS = 2000;

/**
 * Splits a child's stdout and stderr into lines (UTF-8; over-long lines are cut at 64 KB) for `onLine`, keeps the
 * last 4 KB of stderr, and resolves once it has exited and its pipes drained (or 2 s after exit, if a grandchild
 * holds them open).
 */
export function watchChild(child: ChildProcess, onLine: (line: OutputLine) => void): Promise<WorkloadExit> {
  let stderr = Buffer.alloc(0);
  const emit = (line: OutputLine) => {
    try {
      onLine(line);
    } catch {
      // a listener's failure must not kill the pipe
    }
  };
  const outLines = lineSplitter("stdout", emit);
  const errLines = lineSplitter("stderr", emit);
  child.stdout?.on("data", (chunk: Buffer) => outLines.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => {
    errLines.push(chunk);
    stderr = Buffer.concat([stderr, chunk]);
    if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
  });
  const drained = (stream: NodeJS.ReadableStream | null) =>
    stream ? new Promise<void>((resolve) => (stream.once("end", resolve), stream.once("close", resolve), stream.once("error", () => resolve()))) : Promise.resolve();
  const pipes = Promise.all([drained(child.stdout), drained(child.stderr)]);
  return new Promise((resolve) => {
    let startError: string | undefined;
    child.once("error", (err) => {
      startError = err.message;
      if (child.pid === undefined) resolve({ code: null, signal: null, stderrTail: "", error: err.message });
    });
    child.once("exit", (code, signal) => {
      void Promise.race([pipes, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]).then(() => {
        outLines.end();
        errLines.end();
        const exit: WorkloadExit = { code, signal, stderrTail: stderr.toString("utf8") };
        if (startError !== undefined) exit.error = startError;
        resolve(exit);
      });
    });
  });
}

/** Sends `signal` to the child's process group (it was spawned detached), falling back to the child alone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM the group, SIGKILL it after `graceMs`, and wait for `exit`. */
export async function stopChild(child: ChildProcess, exit: Promise<WorkloadExit>, graceMs: number, onKill?: () => Promise<void>): Promise<void> {
  signalGroup(child, "SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      void (onKill?.() ?? Promise.resolve()).finally(() => {
        signalGroup(child, "SIGKILL");
        resolve();
      });
    }, graceMs);
  });
  await Promise.race([exit, killed]);
  clearTimeout(timer);
  await exit;
}

/**
 * Cuts a byte stream into UTF-8 lines (a character split between chunks is kept whole); `end` emits the rest, and
 * what comes after it (a grandchild still writing) is ignored.
 */
function lineSplitter(stream: OutputStream, emit: (line: OutputLine) => void): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let ended = false;
  return {
    push(chunk) {
      if (ended) return;
      pending += decoder.write(chunk);
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        emit({ stream, text: pending.slice(0, newline) });
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
      if (pending.length > MAX_LINE_BYTES) {
        emit({ stream, text: pending.slice(0, MAX_LINE_BYTES) });
        pending = "";
      }
    },
    end() {
      if (ended) return;
      ended = true;
      pending += decoder.end();
      if (pending.length > 0) emit({ stream, text: pending });
      pending = "";
    },
  };
}
