import { step, type FollowerSettings } from "./follower";
import { splitRange } from "./ranges";
import type { BlockRef, ChainEvent, ChainPort, StorePort } from "./types";

/** An in-memory chain whose history can be replaced from a height (a reorg). */
class FakeChain implements ChainPort {
  blocks: { ref: BlockRef; events: ChainEvent[] }[] = [];
  maxSpan = 1000n;
  private fork = 0;
  constructor(length: number, eventsEvery = 3) {
    this.extend(length, eventsEvery);
  }
  extend(n: number, eventsEvery = 3): void {
    for (let i = 0; i < n; i++) {
      const number = BigInt(this.blocks.length);
      const parent = this.blocks.at(-1)?.ref.hash ?? "0x0";
      const hash = `0x${this.fork}f${number}`;
      const events: ChainEvent[] = Number(number) % eventsEvery === 0 ? [{ blockNumber: number, blockHash: hash, txHash: `${hash}-tx`, logIndex: 0, address: "0xescrow", name: "Deposited", args: { amount: String(number) } }] : [];
      this.blocks.push({ ref: { number, hash, parentHash: parent }, events });
    }
  }
  /** Replaces blocks from `height` on with `n` new ones of another fork. */
  reorg(height: number, n: number): void {
    this.blocks = this.blocks.slice(0, height);
    this.fork++;
    this.extend(n, 2);
  }
  async head() {
    return BigInt(this.blocks.length - 1);
  }
  async finalized() {
    return undefined;
  }
  async block(n: bigint) {
    return this.blocks[Number(n)].ref;
  }
  async events(from: bigint, to: bigint) {
    if (to - from + 1n > this.maxSpan) throw new Error("query returned more than 10000 results");
    return this.blocks.slice(Number(from), Number(to) + 1).flatMap((b) => b.events);
  }
}

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
