import { execFile } from "node:child_process";

/** Runs a program with arguments (no shell) and resolves with its stdout; rejects on a non-zero exit or timeout. */
export type ExecFile = (file: string, args: readonly string[], timeoutMs: number) => Promise<string>;

/** {@link ExecFile} over `child_process.execFile`, stdout capped at 1 MiB. */
export const execFileText: ExecFile = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: "utf8" }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
