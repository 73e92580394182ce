import type { ProtocolContext } from "../workload-protocol";

/** What an executor needs to run one assignment's workload. */
export interface WorkloadSpec {
  assignmentId: string;
  /** The assignment's scratch folder on the host (holds checkpoints/, inputs/ and outputs/). */
  scratchDir: string;
  image: string | null;
  command: readonly string[];
  /** The job's env; protocol variables win over it. */
  jobEnv: Readonly<Record<string, string>>;
  protocol: ProtocolContext;
}

/** How a workload ended. `error` is set when it never started (no such program, no engine). */
export interface WorkloadExit {
  code: number | null;
  signal: string | null;
  /** The last 4 KB of stderr. */
  stderrTail: string;
  error?: string;
}

/** A started workload. */
export interface Workload {
  exit: Promise<WorkloadExit>;
  /** SIGTERM now, SIGKILL after `graceMs` if still running; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

/** Which pipe of the workload a line came from. */
export type OutputStream = "stdout" | "stderr";

/** One line of a workload's stdout or stderr, without its newline. */
export interface OutputLine {
  stream: OutputStream;
  text: string;
}

/** Runs workloads one way (a host process, a container). */
export interface Executor {
  readonly kind: "process" | "container";
  /** Why this executor cannot run the spec (e.g. no image), or null. */
  refusal(spec: WorkloadSpec): string | null;
  /** Starts the workload; `onLine` gets each line of its stdout and of its stderr, in order within each stream. */
  start(spec: WorkloadSpec, onLine: (line: OutputLine) => void): Workload;
}

/** Variables of the agent's own environment a workload's base environment is built from. */
export interface HostEnv {
  PATH?: string;
  LANG?: string;
  HOME?: string;
  /** Passed to the container engine's CLI (DOCKER_HOST, XDG_RUNTIME_DIR, ...), never to workloads. */
  engine?: Readonly<Record<string, string>>;
}
