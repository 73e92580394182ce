/** main's chain follower before issue 14, kept unchanged as the chain benchmark's baseline (bench/chain-indexers.ts). */
import { halve, nextRange } from "../../indexer/ranges";
import { commonAncestor, continues } from "../../indexer/reorg";
import type { BlockRef, ChainEvent, ChainPort, StorePort } from "../../indexer/types";

export interface FollowerSettings {
  /** The first block to index (the contracts' deployment block). */
  startBlock: bigint;
  /** Blocks per step now (callers feed back `nextSpan`): at most `maxSpan`. */
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

/**
 * One step of following the chain: detects a reorg (the stored tip is no longer canonical, or the next block
 * does not continue it) and rewinds to the common ancestor; otherwise indexes the next range of events and
 * advances the cursor, all through the ports (each write one transaction). Calling `step` repeatedly follows
 * the chain; it is safe to kill between any two calls (the store is always at a cursor with its events).
 */
export async function step(chain: ChainPort, store: StorePort, s: FollowerSettings): Promise<StepResult> {
  const head = await chain.head();
  const tip = await store.cursor();
  if (tip && tip.number <= head) {
    const canonical = await chain.block(tip.number);
    if (canonical.hash !== tip.hash) return { ...(await rewind(chain, store, head)), nextSpan: s.span };
  } else if (tip && tip.number > head) {
    return { ...(await rewind(chain, store, head)), nextSpan: s.span };
  }
  const range = nextRange(tip?.number, s.startBlock, head, s.span);
  if (!range) return { indexed: 0n, head, cursor: tip?.number, nextSpan: s.span };
  const [from, to] = range;
  const first = await chain.block(from);
  if (!continues(tip, first)) return { ...(await rewind(chain, store, head)), nextSpan: s.span };
  const events = await eventsIn(chain, from, to);
  const last = to === from ? first : await chain.block(to);
  const blocks = await blocksToKeep(chain, events, last, first, head, s.keepBlocks);
  const finalized = (await chain.finalized()) ?? (head > s.confirmations ? head - s.confirmations : 0n);
  await store.advance(events, blocks, last, finalized);
  return { indexed: to - from + 1n, head, cursor: to, nextSpan: adaptSpan(s.span, events.length, s.maxSpan ?? s.span, s.targetLogs ?? 1000) };
}

/** The next span: halved (not below 1) after over twice `targetLogs` logs, doubled (not above `max`) after under a quarter. */
export function adaptSpan(span: bigint, logs: number, max: bigint, targetLogs: number): bigint {
  if (logs > targetLogs * 2) return span > 1n ? span / 2n : 1n;
  if (logs < targetLogs / 4) return span * 2n < max ? span * 2n : max;
  return span;
}

async function rewind(chain: ChainPort, store: StorePort, head: bigint): Promise<Omit<StepResult, "nextSpan">> {
  const stored = (await store.recentBlocks()).filter((b) => b.number <= head);
  const ancestor = await commonAncestor(stored, async (n) => (await chain.block(n)).hash);
  await store.rewind(ancestor);
  return { indexed: 0n, rewoundTo: ancestor?.number ?? null, head, cursor: ancestor?.number };
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
 * the events), and, near the head (within `keep` blocks), each of the range's last `keep` blocks.
 */
async function blocksToKeep(chain: ChainPort, events: readonly ChainEvent[], last: BlockRef, first: BlockRef, head: bigint, keep: number): Promise<BlockRef[]> {
  const byNumber = new Map<bigint, BlockRef>([
    [first.number, first],
    [last.number, last],
  ]);
  for (const e of events) if (!byNumber.has(e.blockNumber)) byNumber.set(e.blockNumber, { number: e.blockNumber, hash: e.blockHash, parentHash: "" });
  if (last.number + BigInt(keep) > head) {
    for (let n = last.number - 1n; n > last.number - BigInt(keep) && n > first.number; n--) if (!byNumber.has(n)) byNumber.set(n, await chain.block(n));
  }
  return [...byNumber.values()].sort((a, b) => (a.number < b.number ? 1 : -1));
}
