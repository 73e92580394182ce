/** A task repeated every interval, never overlapping itself. */
export interface Loop {
  /** Runs the task as soon as the current run (if any) ends. */
  trigger(): void;
  /** Stops repeating and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `task` now and then `intervalMs` after each run ends. A throwing task is reported to `onError` and the
 * loop goes on.
 */
export function startLoop(task: () => Promise<void>, intervalMs: number, onError: (err: unknown) => void): Loop {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;

  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    running = task()
      .catch(onError)
      .finally(() => {
        running = null;
        if (stopped) return;
        if (again) {
          again = false;
          run();
        } else timer = setTimeout(run, intervalMs);
      });
  };
  run();
  return {
    trigger: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
