/** The SDK's e2e tests' processes: the real agent (as api/test/integration/agent-data.test.ts starts it) and gx. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");
const REGISTER = require.resolve("@swc-node/register");

/** Starts the provider agent with the process executor, one GPU of `model` (48 GB) offered at `price`. */
export function startAgent(api: string, key: string, name: string, model: string, price: string, workDir: string): { child: ChildProcess; log: string[] } {
  const args = ["-r", REGISTER, join(ROOT, "agent/cli.ts"), "--api", api, "--api-key", key, "--name", name, "--region", "eu-central"];
  args.push("--gpus", `NVIDIA ${model}:48:1`, "--price", price, "--executor", "process", "--work-dir", join(workDir, name), "--heartbeat-s", "1", "--poll-s", "1", "--log-level", "info");
  if (process.getuid?.() === 0) args.push("--allow-root");
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: workDir }, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  child.stdout!.on("data", (d) => log.push(String(d)));
  child.stderr!.on("data", (d) => log.push(String(d)));
  return { child, log };
}

export interface GxRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts gx from its sources as a process (in `cwd`, with only the environment given); `output` grows as it prints. */
export function startGx(args: string[], options: { cwd: string; env: Record<string, string> }): { child: ChildProcess; output: GxRun; done: Promise<GxRun> } {
  const child = spawn(process.execPath, ["-r", REGISTER, join(ROOT, "sdk/src/cli/gx.ts"), ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", SWC_NODE_PROJECT: join(ROOT, "tsconfig.json"), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: GxRun = { code: null, stdout: "", stderr: "" };
  child.stdout!.on("data", (d) => (output.stdout += String(d)));
  child.stderr!.on("data", (d) => (output.stderr += String(d)));
  const done = new Promise<GxRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(Object.assign(output, { code })));
  });
  return { child, output, done };
}

/** Runs gx to its end and collects what it printed. */
export function gx(args: string[], options: { cwd: string; env: Record<string, string> }): Promise<GxRun> {
  return startGx(args, options).done;
}
