import type { Logger } from "pino";
import { LeaderLock, type ConnectDedicated } from "../db/leader-lock";
import { backoffMs, ChainHealth, Follower, observedChain, type ChainHealthView, type ChainPort, type FollowerSettings, type HealthChange, type StepResult, type StorePort } from "../../indexer";

/** Advisory lock id of the indexer's leadership: one indexer writes at a time, others stand by. */
const INDEXER_LOCK = 0x67780002;

export interface IndexerRunnerDeps {
  /** Opens the dedicated connection that holds the leadership lock. */
  connect: ConnectDedicated;
  chain: ChainPort;
  store: StorePort;
  settings: FollowerSettings;
  /** Pause between steps once caught up (cut short by a new head from `heads`); after errors, doubled each time up to `maxBackoffMs`. */
  pollMs: number;
  /** Announces new heads (e.g. a newHeads subscription), so that a caught-up indexer steps at once. */
  heads?: (onHead: (head: bigint) => void) => { stop(): void };
  /** The longest pause after errors (default 2,000 ms): the indexer catches up within that of the node answering again. */
  maxBackoffMs?: number;
  /** Where the node's reachability is recorded (for indexerStatus and /readyz); a new one when absent. */
  health?: ChainHealth;
  /** Called after a step that indexed blocks or rewound (e.g. to sync holds at once after a reorg or a deposit). */
  onProgress?: (result: StepResult) => void;
  logger: Logger;
}

export interface IndexerRunner {
  /** The last step's head and cursor, for status and metrics. */
  last(): { head?: bigint; cursor?: bigint; at?: Date };
  /** The chain node as the indexer's calls found it. */
  health(): ChainHealthView;
  stop(): Promise<void>;
}

/**
 * Runs the follower while holding the indexer's advisory lock (a dedicated, watched connection: losing it, say to a
 * Postgres restart, ends the leadership, and the loop takes it again once Postgres answers): steps as fast as there is work, sleeps `pollMs` when caught up, backs off on errors (up to
 * `maxBackoffMs`). Every chain call is bounded by the provider's timeout; an unreachable node is logged at warn when
 * it stops answering, every minute while it does not, and when it answers again.
 */
export async function startIndexer(deps: IndexerRunnerDeps): Promise<IndexerRunner> {
  let stopped = false;
  const lock = new LeaderLock(deps.connect, "indexer lock", INDEXER_LOCK, (err) =>
    deps.logger.warn({ err: { message: (err as Error).message } }, "indexer: lost its lock connection; taking the lead again once Postgres answers"),
  );
  let state: { head?: bigint; cursor?: bigint; at?: Date } = {};
  let failures = 0;
  const health = deps.health ?? new ChainHealth();
  const logChange = (c: HealthChange) => {
    if (c.kind === "up") deps.logger.warn({ downMs: c.downMs }, "indexer: the chain node answers again; catching up");
    else deps.logger.warn({ since: c.since.toISOString(), downMs: c.kind === "still-down" ? c.downMs : 0, error: c.error }, c.kind === "down" ? "indexer: the chain node is unreachable" : "indexer: the chain node is still unreachable");
  };
  const chain = observedChain(deps.chain, health, logChange);
  let wake: (() => void) | undefined;
  let headSeen = false;
  /** Sleeps `ms`; a caught-up pause (`untilHead`) ends early at a new head, also one announced while stepping. */
  const sleep = (ms: number, untilHead = false) => {
    if (untilHead && headSeen) {
      headSeen = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        if (onHead === done) onHead = undefined;
        resolve();
      }
      wake = done;
      if (untilHead) onHead = done;
    });
  };
  let onHead: (() => void) | undefined;
  const follower = new Follower(chain, deps.store, deps.settings);
  const heads = deps.heads?.((head) => {
    follower.sawHead(head);
    if (onHead) {
      const call = onHead;
      onHead = undefined;
      call();
    } else headSeen = true;
  });

  const loop = (async () => {
    while (!stopped) {
      try {
        if (!lock.connection) {
          if (!(await lock.lead())) {
            await sleep(deps.pollMs * 5);
            continue;
          }
          deps.logger.info("indexer: leading");
          follower.forget();
        }
        headSeen = false;
        const r = await follower.step();
        failures = 0;
        state = { head: r.head, cursor: r.cursor, at: new Date() };
        if (r.rewoundTo !== undefined) deps.logger.warn({ rewoundTo: r.rewoundTo?.toString() ?? "start", head: r.head.toString() }, "indexer: reorg, rewound");
        if (r.indexed === 0n && r.rewoundTo === undefined) await sleep(deps.pollMs, true);
        else deps.onProgress?.(r);
      } catch (err) {
        failures++;
        if (health.view().reachable !== false) deps.logger.warn({ err }, "indexer: step failed; retrying");
        await sleep(backoffMs(failures, deps.pollMs, Math.max(deps.pollMs, deps.maxBackoffMs ?? 2000)));
      }
    }
  })();
  return {
    last: () => state,
    health: () => health.view(),
    async stop() {
      stopped = true;
      heads?.stop();
      wake?.();
      await loop;
      await lock.stop();
    },
  };
}
