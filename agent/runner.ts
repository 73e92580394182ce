import type { Logger } from "pino";
import { type PendingAssignment, readPendingAssignments } from "./api-types";
import { AGENT_STOPPED, AssignmentRun, type RunContext } from "./assignment-run";
import { type ApiError, isAuthError } from "./client";
import { errorText } from "./error-text";
import { GpuPool } from "./gpu-pool";
import { type Loop, startLoop } from "./loop";

/** Options of {@link Runner}. */
export interface RunnerOptions extends RunContext {
  nodeId: string;
  /** Device indexes of the offered GPUs. */
  gpuIndexes: readonly number[];
  maxJobs: number;
  pollMs: number;
  /** Called once when the API refuses the key; the agent should stop. */
  onFatal: (err: unknown) => void;
}

/**
 * Takes the node's assignments and runs them: woken by the AssignmentsForNode subscription and polling
 * PendingAssignments every `pollMs` (fallback and catch-up), each assignment once, at most `maxJobs` at a time
 * and only while enough offered GPUs are free.
 */
export class Runner {
  private readonly known = new Set<string>();
  private readonly running = new Map<string, { run: AssignmentRun; done: Promise<void> }>();
  private readonly pool: GpuPool;
  private readonly log: Logger;
  private loop: Loop | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopping = false;

  constructor(private readonly options: RunnerOptions) {
    this.pool = new GpuPool(options.gpuIndexes);
    this.log = options.logger.child({ component: "runner" });
  }

  /** Assignments running now. */
  get active(): number {
    return this.running.size;
  }

  /** Subscribes and starts polling. */
  start(): void {
    this.unsubscribe = this.options.client.subscribe<{ assignmentOffered: { id: string } }>(
      "AssignmentsForNode",
      { nodeId: this.options.nodeId },
      (data) => {
        this.log.debug({ assignmentId: data.assignmentOffered?.id }, "assignment offered");
        this.loop?.trigger();
      },
      (err: ApiError) => {
        if (isAuthError(err)) this.options.onFatal(err);
        else this.log.warn({ err: err.message }, "assignment subscription ended; polling goes on");
      },
    );
    this.loop = startLoop(() => this.poll(), this.options.pollMs, (err) => {
      if (isAuthError(err)) this.options.onFatal(err);
      else this.log.warn({ err: errorText(err) }, "polling for assignments failed");
    });
  }

  /** Checks for assignments now. */
  async poll(): Promise<void> {
    if (this.stopping) return;
    const data = await this.options.client.request<unknown>("PendingAssignments", { nodeId: this.options.nodeId });
    const { assignments, malformed } = readPendingAssignments(data);
    for (const bad of malformed) {
      if (bad.id === null || this.known.has(bad.id)) continue;
      this.known.add(bad.id);
      this.log.warn(bad, "an assignment from the API has an unexpected shape");
      await this.reject(bad.id, `the agent could not read this assignment (${bad.reason})`.slice(0, 500));
    }
    for (const assignment of assignments) {
      if (this.stopping || this.running.size >= this.options.maxJobs) return;
      if (this.known.has(assignment.id)) continue;
      if (assignment.job.requirements.gpuCount > this.pool.size) {
        this.known.add(assignment.id);
        await this.reject(assignment.id, `the job needs ${assignment.job.requirements.gpuCount} GPUs; this node offers ${this.pool.size}`);
        continue;
      }
      const gpus = this.pool.take(assignment.job.requirements.gpuCount);
      if (!gpus) return;
      this.known.add(assignment.id);
      this.launch(assignment, gpus);
    }
  }

  /**
   * Stops taking work (unsubscribes, stops polling), sends SIGTERM to the running workloads so they checkpoint,
   * waits up to `graceMs` for them to exit and upload, then fails what is still unfinished with "agent stopped";
   * runs whose workload exited 0 and are uploading their outputs are waited for until they end.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.loop?.stop();
    const entries = [...this.running.values()];
    for (const { run } of entries) run.requestStop("shutdown", graceMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs + 5000)));
    await Promise.race([Promise.all(entries.map((e) => e.done)), deadline]);
    clearTimeout(timer);
    const finishing = [...this.running.values()].filter(({ run }) => run.finishing);
    if (finishing.length > 0) {
      // their workloads exited 0: the outputs are uploading (bounded by the upload retries), so let them complete
      this.log.info({ assignments: finishing.map(({ run }) => run.assignment.id) }, "waiting for outputs to upload before stopping");
      await Promise.all(finishing.map((e) => e.done));
    }
    await Promise.all([...this.running.values()].map(({ run }) => run.failIfUnsettled(AGENT_STOPPED).catch(() => undefined)));
  }

  private launch(assignment: PendingAssignment, gpus: number[]): void {
    const run = new AssignmentRun(this.options, assignment, gpus);
    const done = run.run().then((outcome) => {
      this.running.delete(assignment.id);
      this.pool.release(gpus);
      if (outcome === "retry") this.known.delete(assignment.id);
      if (outcome === "fatal") this.options.onFatal(new Error("the API refused the key"));
      this.log.debug({ assignmentId: assignment.id, outcome }, "assignment run ended");
      if (!this.stopping) this.loop?.trigger();
    });
    this.running.set(assignment.id, { run, done });
  }

  private async reject(assignmentId: string, reason: string): Promise<void> {
    try {
      await this.options.client.request("FailAssignment", { id: assignmentId, reason });
      this.log.warn({ assignmentId, reason }, "assignment refused");
    } catch (err) {
      if (isAuthError(err)) throw err;
      this.log.error({ assignmentId, err: errorText(err) }, "FailAssignment was refused");
    }
  }
}
