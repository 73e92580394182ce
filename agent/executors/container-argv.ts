import { protocolEnv, scratchLayout } from "../workload-protocol";
import type { WorkloadSpec } from "./types";

/** Container engines the agent drives. */
export type ContainerEngine = "docker" | "podman";

/** Where the scratch folder is mounted inside the container. */
export const CONTAINER_ROOT = "/gx";
/** Memory limit when nothing else is said. */
export const DEFAULT_CONTAINER_MEMORY = "16g";

/** Names the engine CLI, its loader or runtime may read; a variable so named is passed by value, not through the CLI's env. */
const ENGINE_ENV_NAME = /^(PATH|HOME|LANG|LC_\w*|TMPDIR|TZ|LD_\w*|DOCKER\w*|CONTAINER\w*|PODMAN\w*|BUILDAH\w*|REGISTRY\w*|XDG_\w*|GO\w*|CGO\w*|SSL_\w*|HTTPS?_PROXY|NO_PROXY|ALL_PROXY|STORAGE_\w*|NOTIFY_SOCKET|DBUS_\w*)$/i;

/** Inputs of {@link buildContainerArgv}. */
export interface ContainerRun {
  engine: ContainerEngine;
  spec: WorkloadSpec;
  /** Whether nvidia-smi found GPUs; without, no GPU is passed in. */
  gpusDetected: boolean;
  uid: number;
  gid: number;
  memory?: string;
}

/** The container's name for an assignment: `gx-<assignment id>` with anything but [A-Za-z0-9_.-] made `-`. */
export function containerName(assignmentId: string): string {
  return `gx-${assignmentId.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
}

/**
 * The engine's argv (after the engine binary) and the variables to set in the engine CLI's environment.
 * The container: removed on exit, bridge network, no new privileges, every capability dropped, 512 pids,
 * a memory limit, runs as uid:gid, and sees exactly one mount: the scratch folder at /gx (read-write), where
 * the protocol's paths point. Environment values travel in the CLI's environment (`-e NAME`), so they do not
 * show in the host's process list. GPUs: docker `--gpus "device=0,1"`, podman CDI `--device nvidia.com/gpu=N`.
 */
export function buildContainerArgv(run: ContainerRun): { argv: string[]; env: Record<string, string> } {
  const { spec } = run;
  const values: Record<string, string> = { HOME: CONTAINER_ROOT, ...spec.jobEnv, ...protocolEnv(spec.protocol, scratchLayout(CONTAINER_ROOT, posixJoin)) };
  const argv = [
    "run",
    "--rm",
    "--name",
    containerName(spec.assignmentId),
    "--network",
    "bridge",
    "--security-opt",
    "no-new-privileges",
    "--cap-drop",
    "ALL",
    "--pids-limit",
    "512",
    "--memory",
    run.memory ?? DEFAULT_CONTAINER_MEMORY,
    "--init",
    "--user",
    `${run.uid}:${run.gid}`,
    "-v",
    `${spec.scratchDir}:${CONTAINER_ROOT}:rw`,
    "--workdir",
    CONTAINER_ROOT,
  ];
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (ENGINE_ENV_NAME.test(name)) argv.push("-e", `${name}=${value}`);
    else {
      argv.push("-e", name);
      env[name] = value;
    }
  }
  const gpus = spec.protocol.gpuIndexes;
  if (run.gpusDetected && gpus.length > 0) {
    if (run.engine === "docker") argv.push("--gpus", `"device=${gpus.join(",")}"`);
    else for (const index of gpus) argv.push("--device", `nvidia.com/gpu=${index}`);
  }
  argv.push(spec.image ?? "", ...spec.command);
  return { argv, env };
}

function posixJoin(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}
