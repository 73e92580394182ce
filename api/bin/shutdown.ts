import type { Logger } from "pino";

/** How long one step of a shutdown may take before it is left behind (a dependency that is down must not hold it). */
export const STEP_TIMEOUT_MS = 5000;
/** How long the whole shutdown may take: past it, the steps left are started without waiting for them. */
export const TOTAL_TIMEOUT_MS = 12_000;

/**
 * One shutdown registry for a process: whatever is started registers how it stops, and `run` stops everything in
 * reverse order of registration, each step bounded by STEP_TIMEOUT_MS and all of them by TOTAL_TIMEOUT_MS, so
 * stopping ends in bounded time whatever is down. Running it twice stops once.
 */
export class Shutdown {
  private readonly steps: { name: string; stop: () => Promise<void> | void }[] = [];
  private done?: Promise<void>;

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = STEP_TIMEOUT_MS,
    private readonly totalTimeoutMs = TOTAL_TIMEOUT_MS,
  ) {}

  add(name: string, stop: () => Promise<void> | void): void {
    this.steps.push({ name, stop });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      const deadline = Date.now() + this.totalTimeoutMs;
      for (const step of [...this.steps].reverse()) {
        const allowed = Math.min(this.stepTimeoutMs, deadline - Date.now());
        const stopping = Promise.resolve().then(step.stop);
        if (allowed <= 0) {
          stopping.catch(() => undefined);
          this.logger.warn(`stopping ${step.name} without waiting: the shutdown is past ${this.totalTimeoutMs} ms`);
          continue;
        }
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), allowed);
          timer.unref();
        });
        const outcome = await Promise.race([stopping.then(() => "ok" as const), late]).catch((err) => {
          this.logger.warn({ err }, `stopping ${step.name} failed`);
          return "failed" as const;
        });
        clearTimeout(timer);
        if (outcome === "late") this.logger.warn(`stopping ${step.name} took over ${allowed} ms; left behind`);
      }
    })();
    return this.done;
  }
}
