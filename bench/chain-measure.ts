/**
 * What the chain benchmark measures of an indexer: a backfill from scratch (events/s overall, over its first and
 * its last tenth of the events, and the time in the node and in the store), and a deposit's mined -> row-visible
 * latency while it follows the head.
 */
import type { Client } from "pg";
import type { ChainEvent, ChainPort, StepResult, StorePort } from "../indexer";

export interface Backfill {
  events: number;
  seconds: number;
  perSecond: number;
  /** Events/s over the first and the last tenth of the events. */
  startPerSecond: number;
  endPerSecond: number;
  /** Time spent in eth_getLogs (and decoding) and in store.advance; they overlap when the indexer pipelines. */
  rpcSeconds: number;
  writeSeconds: number;
}

/** A chain port that times its event queries. */
export function timedChain(chain: ChainPort, spent: { ms: number }): ChainPort {
  return {
    head: () => chain.head(),
    finalized: () => chain.finalized(),
    block: (n) => chain.block(n),
    async events(from, to) {
      const t0 = performance.now();
      try {
        return await chain.events(from, to);
      } finally {
        spent.ms += performance.now() - t0;
      }
    },
  };
}

/** A store that times its writes and records (events written, when) after each. */
export function timedStore(store: StorePort, spent: { ms: number }, marks: { events: number; at: number }[]): StorePort {
  let total = 0;
  return {
    cursor: () => store.cursor(),
    recentBlocks: () => store.recentBlocks(),
    rewind: (a) => store.rewind(a),
    async advance(events: ChainEvent[], ...rest) {
      const t0 = performance.now();
      await store.advance(events, ...rest);
      const t1 = performance.now();
      spent.ms += t1 - t0;
      total += events.length;
      marks.push({ events: total, at: t1 });
    },
  };
}

/** Steps until caught up with the head; `marks` come from the timed store the stepper writes through. */
export async function backfill(stepOnce: () => Promise<StepResult>, marks: { events: number; at: number }[], rpc: { ms: number }, write: { ms: number }): Promise<Backfill> {
  const started = performance.now();
  marks.push({ events: 0, at: started });
  for (;;) {
    const r = await stepOnce();
    if (r.indexed === 0n && r.rewoundTo === undefined) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const events = marks.at(-1)!.events;
  const rate = (a: { events: number; at: number }, b: { events: number; at: number }) => ((b.events - a.events) / (b.at - a.at)) * 1000;
  const tenth = events / 10;
  const firstEnd = marks.find((m) => m.events >= tenth) ?? marks.at(-1)!;
  const lastStart = [...marks].reverse().find((m) => m.events <= events - tenth) ?? marks[0];
  return {
    events,
    seconds,
    perSecond: events / seconds,
    startPerSecond: rate(marks[0], firstEnd),
    endPerSecond: rate(lastStart, marks.at(-1)!),
    rpcSeconds: rpc.ms / 1000,
    writeSeconds: write.ms / 1000,
  };
}

/**
 * Deposits one at a time (each mined when `deposit` returns: automine) and the time until its row is in Postgres,
 * polled every millisecond on `pg`; p50 and max in ms.
 */
export async function depositLatency(deposit: () => Promise<string>, pg: Client, count: number): Promise<{ p50: number; max: number; all: number[] }> {
  const all: number[] = [];
  for (let i = 0; i < count; i++) {
    const hash = await deposit();
    const mined = performance.now();
    const deadline = mined + 30_000;
    for (;;) {
      const { rows } = await pg.query(`SELECT 1 FROM chain_events WHERE tx_hash = $1`, [hash]);
      if (rows.length > 0) break;
      if (performance.now() > deadline) throw new Error(`deposit ${hash} not indexed in 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    all.push(performance.now() - mined);
    await new Promise((r) => setTimeout(r, 37 + ((i * 53) % 100)));
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { p50: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted.at(-1)!, all };
}
