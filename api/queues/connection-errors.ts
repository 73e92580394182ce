import type { Logger } from "pino";

/** How often one source's connection errors are logged while they go on (a Redis that is down errors many times a second). */
const EVERY_MS = 60_000;

/**
 * Listens to `source`'s "error" events (an ioredis client, a BullMQ queue or worker), so none is printed raw or
 * crashes the process, and logs them as one JSON line at warn: the first, then at most one a minute while they go on.
 */
export function logConnectionErrors(source: { on(event: "error", listener: (err: Error) => void): unknown }, logger: Logger, what: string, now: () => number = Date.now): void {
  let last = -Infinity;
  let suppressed = 0;
  source.on("error", (err: Error) => {
    const t = now();
    if (t - last < EVERY_MS) {
      suppressed++;
      return;
    }
    last = t;
    logger.warn({ err: { message: err?.message, code: (err as { code?: unknown })?.code }, suppressed }, `${what}: ${err?.message ?? "error"}; retrying`);
    suppressed = 0;
  });
}
