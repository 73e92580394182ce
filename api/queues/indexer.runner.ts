import type { Logger } from "pino";
import { Client } from "pg";
import { step, type ChainPort, type FollowerSettings, type StorePort } from "../../indexer";

/** Advisory lock id of the indexer's leadership: one indexer writes at a time, others stand by. */
const INDEXER_LOCK = 0x67780002;

export interface IndexerRunnerDeps {
  databaseUrl: string;
  chain: ChainPort;
  store: StorePort;
  settings: FollowerSettings;
  /** Pause between steps once caught up (and after an error). */
  pollMs: number;
  logger: Logger;
}

export interface IndexerRunner {
  /** The last step's head and cursor, for status and metrics. */
  last(): { head?: bigint; cursor?: bigint; at?: Date };
  stop(): Promise<void>;
}

/**
 * Runs the follower while holding the indexer's advisory lock (a dedicated connection; losing it ends the
 * leadership): steps as fast as there is work, sleeps `pollMs` when caught up, backs off on errors.
 */
export async function startIndexer(deps: IndexerRunnerDeps): Promise<IndexerRunner> {
  const lock = new Client({ connectionString: deps.databaseUrl, application_name: "gpu-exchange indexer lock" });
  await lock.connect();
  let stopped = false;
  let leader = false;
  let state: { head?: bigint; cursor?: bigint; at?: Date } = {};
  let span = deps.settings.span;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const loop = (async () => {
    while (!stopped) {
      try {
        if (!leader) {
          const { rows } = await lock.query(`SELECT pg_try_advisory_lock($1) AS ok`, [INDEXER_LOCK]);
          leader = rows[0].ok === true;
          if (!leader) {
            await sleep(deps.pollMs * 5);
            continue;
          }
          deps.logger.info("indexer: leading");
        }
        const r = await step(deps.chain, deps.store, { ...deps.settings, span });
        span = r.nextSpan;
        state = { head: r.head, cursor: r.cursor, at: new Date() };
        if (r.rewoundTo !== undefined) deps.logger.warn({ rewoundTo: r.rewoundTo?.toString() ?? "start", head: r.head.toString() }, "indexer: reorg, rewound");
        if (r.indexed === 0n && r.rewoundTo === undefined) await sleep(deps.pollMs);
      } catch (err) {
        deps.logger.warn({ err }, "indexer: step failed; retrying");
        await sleep(deps.pollMs * 2);
      }
    }
  })();
  return {
    last: () => state,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await lock.end().catch(() => undefined);
    },
  };
}
