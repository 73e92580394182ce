import { spawn } from "node:child_process";
import type { ExecFile } from "../exec-file";
import { buildContainerArgv, type ContainerEngine, containerName } from "./container-argv";
import { stopChild, watchChild } from "./output";
import type { Executor, HostEnv, OutputLine, Workload, WorkloadSpec } from "./types";

const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/;

/** A container engine found on this machine: its binary and which CLI dialect it speaks. */
export interface DetectedEngine {
  binary: string;
  engine: ContainerEngine;
}

/** Finds `docker` or else `podman` by running `--version`; null when neither answers. */
export async function detectContainerEngine(exec: ExecFile): Promise<DetectedEngine | null> {
  for (const binary of ["docker", "podman"]) {
    try {
      const version = await exec(binary, ["--version"], 10_000);
      return { binary, engine: /podman/i.test(version) ? "podman" : "docker" };
    } catch {
      continue;
    }
  }
  return null;
}

/** Options of {@link createContainerExecutor}. */
export interface ContainerExecutorOptions {
  engine: DetectedEngine;
  host: HostEnv;
  gpusDetected: boolean;
  uid: number;
  gid: number;
  exec: ExecFile;
  memory?: string;
}

/**
 * Runs the job's image with {@link buildContainerArgv}. Stopping sends SIGTERM to the engine CLI (which passes
 * it to the container), and after the grace period `<engine> kill gx-<assignment id>` and SIGKILL.
 */
export function createContainerExecutor(options: ContainerExecutorOptions): Executor {
  return {
    kind: "container",
    refusal(spec) {
      if (spec.image === null) return "the job has no image; this node runs jobs in containers (--executor container) and needs one";
      if (!IMAGE_REFERENCE.test(spec.image)) return `the job's image "${spec.image.slice(0, 64)}" is not an image reference`;
      return null;
    },
    start(spec: WorkloadSpec, onLine: (line: OutputLine) => void): Workload {
      const { argv, env } = buildContainerArgv({ engine: options.engine.engine, spec, gpusDetected: options.gpusDetected, uid: options.uid, gid: options.gid, memory: options.memory });
      const child = spawn(options.engine.binary, argv, {
        cwd: spec.scratchDir,
        env: { PATH: options.host.PATH ?? "/usr/local/bin:/usr/bin:/bin", LANG: options.host.LANG ?? "C.UTF-8", ...(options.host.HOME ? { HOME: options.host.HOME } : {}), ...options.host.engine, ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        shell: false,
      });
      const exit = watchChild(child, onLine);
      const kill = () => options.exec(options.engine.binary, ["kill", containerName(spec.assignmentId)], 10_000).then(() => undefined, () => undefined);
      return { exit, stop: (graceMs) => stopChild(child, exit, graceMs, kill) };
    },
  };
}
