/** Spawning the built server's processes (`dist/api/bin/*.js`) for a benchmark, and stopping them. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const STOP_GRACE_MS = 5_000;

export interface ServerProcess {
  child: ChildProcess;
  /** The last lines it wrote, for failure reports. */
  tail: string[];
  /** How many lines it wrote. */
  lines: () => number;
  stop(): Promise<void>;
}

/** Starts `dist/api/bin/<script>` with this environment on top of the bench's own (and these node flags). */
export function startProcess(script: "api.js" | "worker.js", env: Record<string, string>, nodeArgs: string[] = []): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "dist", "api", "bin", script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  let count = 0;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      count++;
      tail.push(line.slice(0, 1000));
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    tail,
    lines: () => count,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        process.stderr.write(`bench: ${script} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM; killing it\n`);
        child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for `GET base/readyz` to answer 200. */
export async function waitReady(base: string, proc: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`the server exited with ${proc.child.exitCode}: ${proc.tail.join("\n")}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.status === 200) return;
      last = `${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server was not ready within ${timeoutMs / 1000} s (last: ${last})`);
}
