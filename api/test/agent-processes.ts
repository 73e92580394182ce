import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** Real agent processes (agent/cli.ts from the sources) of a test, with their logs, killed at its end. */
export interface AgentProcesses {
  /** Starts an agent `name` with API key `key` and GPUs `gpu` (`--gpus` syntax) at `apiUrl`, its work dir under `workDir`. */
  start(name: string, key: string, gpu: string, extra?: string[]): ChildProcess;
  /** All the agent `name` printed so far. */
  logOf(name: string): string;
  /** SIGKILLs every agent still running. */
  killAll(): void;
}

export function agentProcesses(apiUrl: () => string, workDir: () => string): AgentProcesses {
  const children: ChildProcess[] = [];
  const logs = new Map<string, string[]>();
  return {
    start(name, key, gpu, extra = []) {
      const args = ["-r", "@swc-node/register", join(ROOT, "agent/cli.ts"), "--api", apiUrl(), "--api-key", key, "--name", name, "--region", "eu-central"];
      args.push("--gpus", gpu, "--price", "2", "--executor", "process", "--work-dir", join(workDir(), name), "--heartbeat-s", "1", "--poll-s", "1", "--log-level", "info", ...extra);
      if (process.getuid?.() === 0) args.push("--allow-root");
      const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: workDir() }, stdio: ["ignore", "pipe", "pipe"] });
      const log: string[] = [];
      logs.set(name, log);
      child.stdout!.on("data", (d) => log.push(String(d)));
      child.stderr!.on("data", (d) => log.push(String(d)));
      children.push(child);
      return child;
    },
    logOf: (name) => (logs.get(name) ?? []).join(""),
    killAll() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    },
  };
}
