import type { BlockRef } from "./types";

/**
 * Walks the stored blocks (newest first) back to the newest one the chain still has with the same hash: the
 * common ancestor. Undefined when none of them is still canonical (the reorg is deeper than what is kept:
 * reindex from the start block). `canonicalHash` asks the chain for the hash at a height.
 */
export async function commonAncestor(stored: readonly BlockRef[], canonicalHash: (number: bigint) => Promise<string>): Promise<BlockRef | undefined> {
  for (const block of stored) {
    if ((await canonicalHash(block.number)) === block.hash) return block;
  }
  return undefined;
}

/** Whether `next` continues `tip` (its parent hash is the tip's hash); true when there is no tip yet. */
export function continues(tip: BlockRef | undefined, next: BlockRef): boolean {
  return tip === undefined || next.number !== tip.number + 1n || next.parentHash === tip.hash;
}
