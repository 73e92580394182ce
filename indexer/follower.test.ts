import { adaptSpan, step, type FollowerSettings } from "./follower";
import { splitRange } from "./ranges";
import { FakeChain } from "./testing";
import type { BlockRef, ChainEvent, StorePort } from "./types";

/** An in-memory store with the same contract as the Postgres one. */
class FakeStore implements StorePort {
  tip: BlockRef | undefined;
  events = new Map<string, ChainEvent>();
  blocks = new Map<bigint, BlockRef>();
  async cursor() {
    return this.tip;
  }
  async recentBlocks() {
    return [...this.blocks.values()].sort((a, b) => (a.number < b.number ? 1 : -1));
  }
  async advance(events: ChainEvent[], blocks: BlockRef[], to: BlockRef) {
    for (const e of events) this.events.set(`${e.txHash}:${e.logIndex}`, e);
    for (const b of blocks) this.blocks.set(b.number, b);
    this.tip = to;
  }
  async rewind(ancestor: BlockRef | undefined) {
    const keep = (n: bigint) => ancestor !== undefined && n <= ancestor.number;
    for (const [k, e] of this.events) if (!keep(e.blockNumber)) this.events.delete(k);
    for (const n of this.blocks.keys()) if (!keep(n)) this.blocks.delete(n);
    this.tip = ancestor;
  }
}

const settings: FollowerSettings = { startBlock: 0n, span: 50n, confirmations: 5n, keepBlocks: 16 };

async function follow(chain: FakeChain, store: FakeStore, s = settings) {
  for (let i = 0; i < 10_000; i++) {
    const r = await step(chain, store, s);
    if (r.indexed === 0n && r.rewoundTo === undefined) return;
  }
  throw new Error("did not catch up");
}

function canonicalEvents(chain: FakeChain): string[] {
  return chain.blocks.flatMap((b) => b.events.map((e) => `${e.txHash}:${e.logIndex}`)).sort();
}

describe("following a chain", () => {
  it("indexes every event once, in ranges, up to the head", async () => {
    const chain = new FakeChain(301);
    const store = new FakeStore();
    await follow(chain, store);
    expect([...store.events.keys()].sort()).toEqual(canonicalEvents(chain));
    expect(store.tip?.number).toBe(300n);
  });

  it("after a reorg, equals a fresh index of the canonical chain", async () => {
    const chain = new FakeChain(120);
    const store = new FakeStore();
    await follow(chain, store);
    chain.reorg(110, 15);
    await follow(chain, store);
    const fresh = new FakeStore();
    await follow(chain, fresh);
    expect([...store.events.keys()].sort()).toEqual([...fresh.events.keys()].sort());
    expect(store.tip).toEqual(fresh.tip);
  });

  it("survives a shorter fork (the stored tip above the new head)", async () => {
    const chain = new FakeChain(60);
    const store = new FakeStore();
    await follow(chain, store);
    chain.reorg(55, 2);
    await follow(chain, store);
    expect([...store.events.keys()].sort()).toEqual(canonicalEvents(chain));
  });

  it("splits ranges the provider refuses", async () => {
    const chain = new FakeChain(200);
    chain.maxSpan = 7n;
    const store = new FakeStore();
    await follow(chain, store, { ...settings, span: 100n });
    expect([...store.events.keys()].sort()).toEqual(canonicalEvents(chain));
  });

  it("resumes after a stop between any two steps with no gap and no duplicate", async () => {
    const chain = new FakeChain(250);
    const store = new FakeStore();
    for (let i = 0; i < 3; i++) await step(chain, store, settings);
    const resumed = new FakeStore();
    Object.assign(resumed, { tip: store.tip, events: new Map(store.events), blocks: new Map(store.blocks) });
    await follow(chain, resumed);
    expect([...resumed.events.keys()].sort()).toEqual(canonicalEvents(chain));
  });
});

describe("splitRange", () => {
  it("covers the range exactly", () => {
    expect(splitRange(5n, 14n, 4n)).toEqual([
      [5n, 8n],
      [9n, 12n],
      [13n, 14n],
    ]);
    expect(splitRange(3n, 2n, 4n)).toEqual([]);
  });
});

describe("adaptSpan", () => {
  it("halves after too many logs, doubles after few, within bounds", () => {
    expect(adaptSpan(16n, 3000, 2000n, 1000)).toBe(8n);
    expect(adaptSpan(1n, 3000, 2000n, 1000)).toBe(1n);
    expect(adaptSpan(16n, 100, 2000n, 1000)).toBe(32n);
    expect(adaptSpan(1500n, 0, 2000n, 1000)).toBe(2000n);
    expect(adaptSpan(16n, 1000, 2000n, 1000)).toBe(16n);
  });
});
