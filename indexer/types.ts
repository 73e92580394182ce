/** A block as the indexer keeps it: enough to see a reorg (a parent hash that does not match). */
export interface BlockRef {
  number: bigint;
  hash: string;
  parentHash: string;
}

/** One decoded contract event, keyed by (txHash, logIndex): replays are harmless. */
export interface ChainEvent {
  blockNumber: bigint;
  blockHash: string;
  txHash: string;
  logIndex: number;
  address: string;
  name: string;
  /** Keyed by the ABI's parameter names; integers as decimal strings. */
  args: Record<string, string | boolean | string[]>;
}

/** What the indexer needs from a chain (ethers lives only in the adapter). */
export interface ChainPort {
  /** The latest block number. */
  head(): Promise<bigint>;
  /** The chain's finalized block number, or undefined when it has no such tag. */
  finalized(): Promise<bigint | undefined>;
  block(number: bigint): Promise<BlockRef>;
  /** Decoded events of the watched contracts in [from, to]; may throw for too large a range. */
  events(from: bigint, to: bigint): Promise<ChainEvent[]>;
}

/** What the indexer needs from storage; `advance` and `rewind` are each one transaction. */
export interface StorePort {
  /** The last indexed block, or undefined before the first run. */
  cursor(): Promise<BlockRef | undefined>;
  /** Indexed blocks kept for reorg detection, newest first. */
  recentBlocks(): Promise<BlockRef[]>;
  /** Writes the events of blocks (cursor, to.number], the new recent blocks and the cursor `to`, atomically. */
  advance(events: ChainEvent[], blocks: BlockRef[], to: BlockRef, finalizedNumber: bigint): Promise<void>;
  /** Undoes everything after block `ancestor` (events and what they changed) and moves the cursor back to it. */
  rewind(ancestor: BlockRef | undefined): Promise<void>;
}
