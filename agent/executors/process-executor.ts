import { spawn } from "node:child_process";
import { protocolEnv, scratchLayout } from "../workload-protocol";
import { stopChild, watchChild } from "./output";
import type { Executor, HostEnv, OutputLine, Workload, WorkloadSpec } from "./types";

/**
 * The environment of a process workload: a minimal base (PATH, LANG, HOME = the scratch folder), the job's
 * env, then the protocol's variables and CUDA_VISIBLE_DEVICES, which the job cannot override.
 */
export function processEnv(spec: WorkloadSpec, host: HostEnv): Record<string, string> {
  return {
    PATH: host.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: host.LANG ?? "C.UTF-8",
    HOME: spec.scratchDir,
    ...spec.jobEnv,
    ...protocolEnv(spec.protocol, scratchLayout(spec.scratchDir)),
    CUDA_VISIBLE_DEVICES: spec.protocol.gpuIndexes.join(","),
  };
}

/**
 * Runs the job's command as a host process: `command[0]` with the rest as its argv, no shell, in its own
 * process group, cwd = the scratch folder, environment from {@link processEnv}.
 */
export function createProcessExecutor(host: HostEnv): Executor {
  return {
    kind: "process",
    refusal(spec) {
      if (spec.command.length === 0 || spec.command[0].trim() === "") {
        return "the job has no command; this node runs jobs as host processes (--executor process) and needs one";
      }
      return null;
    },
    start(spec: WorkloadSpec, onLine: (line: OutputLine) => void): Workload {
      const child = spawn(spec.command[0], spec.command.slice(1), {
        cwd: spec.scratchDir,
        env: processEnv(spec, host),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        shell: false,
      });
      const exit = watchChild(child, onLine);
      return { exit, stop: (graceMs) => stopChild(child, exit, graceMs) };
    },
  };
}
