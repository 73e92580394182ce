/** The indexers the chain benchmark compares on the same chain: main's before issue 14 (the baseline) and this one. */
import pino from "pino";
import type { DataSource } from "typeorm";
import { Follower, type ChainPort, type FollowerSettings, type StepResult, type StorePort } from "../indexer";
import { subscribeHeads } from "../indexer/adapters/ws-heads";
import { dedicatedConnections } from "../api/db/dedicated";
import { PgChainStore } from "../api/db/repositories/chain-store";
import { startIndexer } from "../api/chain/indexer.runner";
import { PgChainStore as LegacyStore } from "./legacy/chain-store";
import { step as legacyStep } from "./legacy/follower";

export interface Following {
  stop(): Promise<void>;
}

export interface IndexerUnderTest {
  name: string;
  /** Schema the indexer needs beyond this repository's migrations. */
  prepare?(db: DataSource): Promise<void>;
  store(db: DataSource, chainId: bigint): StorePort;
  /** One step at a time, for the backfill. */
  stepper(chain: ChainPort, store: StorePort, settings: FollowerSettings): () => Promise<StepResult>;
  /** Follows the head until stopped, as the indexer does in production. */
  follow(o: { chain: ChainPort; store: StorePort; settings: FollowerSettings; databaseUrl: string; wsUrl: string }): Promise<Following>;
}

const baseline: IndexerUnderTest = {
  name: "baseline",
  // main's store still marks rows final with a second UPDATE
  prepare: async (db) => void (await db.query(`ALTER TABLE chain_events ADD COLUMN IF NOT EXISTS final boolean NOT NULL DEFAULT false`)),
  store: (db, chainId) => new LegacyStore(db, chainId),
  stepper(chain, store, settings) {
    const s = { ...settings };
    return async () => {
      const r = await legacyStep(chain, store, s);
      s.span = r.nextSpan;
      return r;
    };
  },
  async follow({ chain, store, settings }) {
    let following = true;
    const s = { ...settings };
    const loop = (async () => {
      while (following) {
        const r = await legacyStep(chain, store, s);
        s.span = r.nextSpan;
        if (r.indexed === 0n) await new Promise((res) => setTimeout(res, 100));
      }
    })();
    return {
      async stop() {
        following = false;
        await loop;
      },
    };
  },
};

const current: IndexerUnderTest = {
  name: "indexer",
  store: (db, chainId) => new PgChainStore(db, chainId),
  stepper(chain, store, settings) {
    const follower = new Follower(chain, store, settings);
    return () => follower.step();
  },
  async follow({ chain, store, settings, databaseUrl, wsUrl }) {
    const runner = await startIndexer({
      connect: dedicatedConnections(databaseUrl),
      chain,
      store,
      settings,
      pollMs: 100,
      heads: (onHead) => subscribeHeads(wsUrl, onHead),
      logger: pino({ level: "silent" }),
    });
    return { stop: () => runner.stop() };
  },
};

export const INDEXERS: IndexerUnderTest[] = [baseline, current];
