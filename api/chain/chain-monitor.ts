import type { Logger } from "pino";
import type { ChainHealth, HealthChange } from "../../indexer";

/**
 * For a process that does not follow the chain (an API-only instance): asks the node for its head every
 * `intervalMs` (the provider bounds each call), recording the outcome in `health` for indexerStatus and /readyz,
 * and logging at warn when the node stops answering, every minute while it does not, and when it answers again.
 */
export function startChainMonitor(deps: { head: () => Promise<bigint>; health: ChainHealth; intervalMs: number; logger: Logger }): { check(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const log = (c: HealthChange | undefined) => {
    if (!c) return;
    if (c.kind === "up") deps.logger.warn({ downMs: c.downMs }, "chain: the node answers again");
    else deps.logger.warn({ since: c.since.toISOString(), error: c.error }, c.kind === "down" ? "chain: the node is unreachable" : "chain: the node is still unreachable");
  };
  const check = () =>
    (running ??= deps
      .head()
      .then((head) => log(deps.health.ok(head)), (err) => log(deps.health.failed(err)))
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void check(), deps.intervalMs);
  timer.unref();
  void check();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
