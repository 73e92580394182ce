import type { Logger } from "pino";

/** How long one step of a shutdown may take before it is left behind (a dependency that is down must not hold it). */
export const STEP_TIMEOUT_MS = 5000;

/**
 * One shutdown registry for a process: whatever is started registers how it stops, and `run` stops everything in
 * reverse order of registration, each step bounded by STEP_TIMEOUT_MS, so stopping ends whatever is down. Running it
 * twice stops once.
 */
export class Shutdown {
  private readonly steps: { name: string; stop: () => Promise<void> | void }[] = [];
  private done?: Promise<void>;

  constructor(private readonly logger: Logger, private readonly stepTimeoutMs = STEP_TIMEOUT_MS) {}

  add(name: string, stop: () => Promise<void> | void): void {
    this.steps.push({ name, stop });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), this.stepTimeoutMs);
          timer.unref();
        });
        const outcome = await Promise.race([Promise.resolve().then(step.stop).then(() => "ok" as const), late]).catch((err) => {
          this.logger.warn({ err }, `stopping ${step.name} failed`);
          return "failed" as const;
        });
        clearTimeout(timer);
        if (outcome === "late") this.logger.warn(`stopping ${step.name} took over ${this.stepTimeoutMs} ms; left behind`);
      }
    })();
    return this.done;
  }
}
