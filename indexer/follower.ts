import { halve, nextRange } from "./ranges";
import { commonAncestor, continues } from "./reorg";
import type { BlockRef, ChainEvent, ChainPort, StorePort } from "./types";

export interface FollowerSettings {
  /** The first block to index (the contracts' deployment block). */
  startBlock: bigint;
  /** Blocks per step now (the follower adapts it; `step` callers feed back `nextSpan`): at most `maxSpan`. */
  span: bigint;
  /** The largest span; nodes answer many small log queries faster than one large one, so spans adapt. */
  maxSpan?: bigint;
  /** Logs per call the span adapts towards (default 1,000). */
  targetLogs?: number;
  /** Blocks behind the head counted final when the chain has no finalized tag. */
  confirmations: bigint;
  /** Recent blocks kept for reorg detection. */
  keepBlocks: number;
}

export interface StepResult {
  /** Blocks indexed in this step (0 when caught up). */
  indexed: bigint;
  /** The span to use next: halved after a range with over twice the target logs, doubled after one with under a quarter. */
  nextSpan: bigint;
  /** The block a reorg rewound to, when one was found. */
  rewoundTo?: bigint | null;
  head: bigint;
  cursor: bigint | undefined;
}

/** A range as fetched from the node: its first and last headers, its events, and the finalized block then. */
interface Fetched {
  from: bigint;
  first: BlockRef;
  last: BlockRef;
  events: ChainEvent[];
  finalized: bigint;
}

/**
 * Follows the chain into the store, one step at a time: each step detects a reorg (the stored tip no longer
 * canonical, or the next block not continuing it) and rewinds to the common ancestor; otherwise it writes the next
 * range and advances the cursor (each write one transaction, so it is safe to stop between any two steps).
 * RPC calls of a range go out at once (its first and last headers, its logs, the finalized tag), and with
 * `pipeline` the next range is fetched while this one is written: it is checked to continue the written tip before
 * it is used. The cursor and the head are kept between steps (the store is written only through this follower);
 * after a failed step both are read again.
 */
export class Follower {
  private tip: BlockRef | undefined | null = null;
  private head: bigint | undefined;
  private next: { from: bigint; fetched: Promise<Fetched | { error: unknown }> } | undefined;
  private span: bigint;

  constructor(
    private readonly chain: ChainPort,
    private readonly store: StorePort,
    private readonly s: FollowerSettings,
    private readonly pipeline = true,
  ) {
    this.span = s.span;
  }

  /** Reads the cursor and the head again at the next step (after an error, or another writer's turn). */
  forget(): void {
    this.tip = null;
    this.head = undefined;
    this.next = undefined;
  }

  /** A head the node announced (a newHeads subscription): the next step ranges up to it without asking for it. */
  sawHead(head: bigint): void {
    if (this.head !== undefined && head > this.head) this.head = head;
  }

  async step(): Promise<StepResult> {
    try {
      return await this.run();
    } catch (err) {
      this.forget();
      throw err;
    }
  }

  private async run(): Promise<StepResult> {
    if (this.tip === null) this.tip = await this.store.cursor();
    const tip = this.tip;
    let fetched = await this.prefetched(tip ? tip.number + 1n : this.s.startBlock);
    if (!fetched) {
      const cached = this.head;
      let range = cached === undefined ? undefined : nextRange(tip?.number, this.s.startBlock, cached, this.span);
      if (!range) {
        const head = (this.head = await this.chain.head());
        if (tip && tip.number > head) return this.rewind();
        range = nextRange(tip?.number, this.s.startBlock, head, this.span);
        if (!range) {
          if (tip && (await this.chain.block(tip.number)).hash !== tip.hash) return this.rewind();
          return { indexed: 0n, head, cursor: tip?.number, nextSpan: this.span };
        }
      }
      fetched = await this.fetch(range[0], range[1]);
    }
    const head = this.head!;
    const { first, last, events } = fetched;
    if (!continues(tip, first)) return this.rewind();
    const blocks = await blocksToKeep(this.chain, events, last, first, head, this.s.keepBlocks);
    this.span = adaptSpan(this.span, events.length, this.s.maxSpan ?? this.s.span, this.s.targetLogs ?? 1000);
    if (this.pipeline && last.number < head) {
      const from = last.number + 1n;
      const to = from + this.span - 1n < head ? from + this.span - 1n : head;
      this.next = { from, fetched: this.fetch(from, to).catch((error: unknown) => ({ error })) };
    }
    await this.store.advance(events, blocks, last, fetched.finalized);
    this.tip = last;
    return { indexed: last.number - first.number + 1n, head, cursor: last.number, nextSpan: this.span };
  }

  /** The prefetched range when it starts at `from` (discarded otherwise); its error, if it failed. */
  private async prefetched(from: bigint): Promise<Fetched | undefined> {
    const next = this.next;
    this.next = undefined;
    if (!next || next.from !== from) return undefined;
    const result = await next.fetched;
    if ("error" in result) throw result.error;
    return result;
  }

  /** A range's first and last headers, its events and the finalized block, asked for at once. */
  private async fetch(from: bigint, to: bigint): Promise<Fetched> {
    const head = this.head!;
    const [first, last, events, tagged] = await Promise.all([
      this.chain.block(from),
      to === from ? undefined : this.chain.block(to),
      eventsIn(this.chain, from, to),
      this.chain.finalized(),
    ]);
    const finalized = tagged ?? (head > this.s.confirmations ? head - this.s.confirmations : 0n);
    return { from, first, last: last ?? first, events, finalized };
  }

  private async rewind(): Promise<StepResult> {
    this.next = undefined;
    const head = (this.head = await this.chain.head());
    const stored = (await this.store.recentBlocks()).filter((b) => b.number <= head);
    const ancestor = await commonAncestor(stored, async (n) => (await this.chain.block(n)).hash);
    await this.store.rewind(ancestor);
    this.tip = ancestor;
    return { indexed: 0n, rewoundTo: ancestor?.number ?? null, head, cursor: ancestor?.number, nextSpan: this.span };
  }
}

/**
 * One step of following the chain with nothing kept from earlier steps (the cursor read from the store, no
 * prefetch): what `Follower.step` does, for callers that keep no follower.
 */
export function step(chain: ChainPort, store: StorePort, s: FollowerSettings): Promise<StepResult> {
  return new Follower(chain, store, s, false).step();
}

/** The next span: halved (not below 1) after over twice `targetLogs` logs, doubled (not above `max`) after under a quarter. */
export function adaptSpan(span: bigint, logs: number, max: bigint, targetLogs: number): bigint {
  if (logs > targetLogs * 2) return span > 1n ? span / 2n : 1n;
  if (logs < targetLogs / 4) return span * 2n < max ? span * 2n : max;
  return span;
}

/** Events of [from, to], halving ranges the provider refuses (down to one block, which must succeed). */
export async function eventsIn(chain: ChainPort, from: bigint, to: bigint): Promise<ChainEvent[]> {
  try {
    return await chain.events(from, to);
  } catch (err) {
    const halves = halve(from, to);
    if (!halves) throw err;
    const out: ChainEvent[] = [];
    for (const [a, b] of halves) out.push(...(await eventsIn(chain, a, b)));
    return out;
  }
}

/**
 * The blocks kept for reorg detection: the range's first and last, every block with events (its hash comes with
 * the events), and, near the head (within `keep` blocks), each of the range's last `keep` blocks (asked for at once).
 */
async function blocksToKeep(chain: ChainPort, events: readonly ChainEvent[], last: BlockRef, first: BlockRef, head: bigint, keep: number): Promise<BlockRef[]> {
  const byNumber = new Map<bigint, BlockRef>([
    [first.number, first],
    [last.number, last],
  ]);
  for (const e of events) if (!byNumber.has(e.blockNumber)) byNumber.set(e.blockNumber, { number: e.blockNumber, hash: e.blockHash, parentHash: "" });
  if (last.number + BigInt(keep) > head) {
    const missing: bigint[] = [];
    for (let n = last.number - 1n; n > last.number - BigInt(keep) && n > first.number; n--) if (!byNumber.has(n)) missing.push(n);
    for (const b of await Promise.all(missing.map((n) => chain.block(n)))) byNumber.set(b.number, b);
  }
  return [...byNumber.values()].sort((a, b) => (a.number < b.number ? 1 : -1));
}
