import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** How far the indexer got on a chain: the last block it indexed and the last final one. */
export interface ChainCursorRow {
  blockNumber: bigint;
  finalizedBlock: bigint;
}

/** A chain's indexer cursor, if the indexer has run on it. */
export async function chainCursorOf(db: Db, chainId: bigint): Promise<ChainCursorRow | undefined> {
  const [row] = await db.query(`SELECT block_number, finalized_block FROM chain_cursor WHERE chain_id = $1`, [chainId.toString()]);
  return row ? { blockNumber: BigInt(row.block_number), finalizedBlock: BigInt(row.finalized_block) } : undefined;
}

/** An account's stake as mirrored from the Staking contract, in wei. */
export interface StakeRow {
  stakedWei: bigint;
  unbondingWei: bigint;
  slashedWei: bigint;
}

/** An account's mirrored stake (zeros when it never staked). */
export async function stakeOfAccount(db: Db, accountId: string): Promise<StakeRow> {
  const [row] = await db.query(`SELECT staked_wei, unbonding_wei, slashed_wei FROM stakes WHERE account_id = $1`, [accountId]);
  if (!row) return { stakedWei: 0n, unbondingWei: 0n, slashedWei: 0n };
  return { stakedWei: BigInt(row.staked_wei), unbondingWei: BigInt(row.unbonding_wei), slashedWei: BigInt(row.slashed_wei) };
}

/** The id of the account of an address (any case), if it has one. */
export async function accountIdOfAddress(db: Db, address: string): Promise<string | undefined> {
  const [row] = await db.query(`SELECT id FROM accounts WHERE address = $1`, [address.toLowerCase()]);
  return row?.id;
}

/** A mirrored chain event as stored, with whether its block is final. */
export interface ChainEventRow {
  id: string;
  name: string;
  address: string;
  block_number: string;
  tx_hash: string;
  log_index: number;
  final: boolean;
  args: Record<string, unknown>;
}

/**
 * A chain's events newest first, below id `before` when given, and with `address` (lower case) those naming it in
 * any argument: at most `limit`.
 */
export function chainEventsPage(db: Db, chainId: bigint, before: bigint | undefined, address: string | null, limit: number): Promise<ChainEventRow[]> {
  return db.query(
    `SELECT id, name, address, block_number, tx_hash, log_index,
              block_number <= coalesce((SELECT finalized_block FROM chain_cursor WHERE chain_id = $1), -1) AS final, args
         FROM chain_events
        WHERE chain_id = $1 AND ($2::bigint IS NULL OR id < $2)
          AND ($3::varchar IS NULL OR EXISTS (SELECT 1 FROM jsonb_each_text(args) kv WHERE lower(kv.value) = $3))
        ORDER BY id DESC LIMIT $4`,
    [chainId.toString(), before?.toString() ?? null, address, limit],
  );
}
