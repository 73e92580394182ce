import type { DataSource, EntityManager } from "typeorm";
import type { BlockRef, ChainEvent, StorePort } from "../../../indexer";

type Db = Pick<EntityManager, "query">;

/**
 * Events whose `client` argument moves escrow deposits: deposited = sum(Deposited) - sum(Withdrawn). Settlement
 * debits (Debited) are left out on purpose: the marketplace already counts what a job spent (escrow_balances
 * .spent_wei, from its charges) when the work ends, so available = deposited - held - spent before and after
 * the batch settles on chain.
 */
const ESCROW_EVENTS = ["Deposited", "Withdrawn"];
/** Blocks kept below the cursor for reorg detection (older ones are final in practice and pruned). */
const KEEP_BLOCKS = 256n;

/**
 * The indexer's storage in Postgres: each `advance` and `rewind` is one transaction that writes the events,
 * the kept blocks, the cursor, and what the events change (escrow deposits, recomputed from the events so a
 * rewind undoes exactly what came after the ancestor). Replays are harmless: events are unique by
 * (chain, tx hash, log index).
 */
export class PgChainStore implements StorePort {
  constructor(
    private readonly db: DataSource,
    private readonly chainId: bigint,
  ) {}

  async cursor(): Promise<BlockRef | undefined> {
    const [row] = await this.db.query(`SELECT block_number, block_hash, parent_hash FROM chain_cursor WHERE chain_id = $1`, [this.chainId.toString()]);
    return row ? { number: BigInt(row.block_number), hash: row.block_hash, parentHash: row.parent_hash } : undefined;
  }

  async recentBlocks(): Promise<BlockRef[]> {
    const rows: { number: string; hash: string; parent_hash: string }[] = await this.db.query(
      `SELECT number, hash, parent_hash FROM chain_blocks WHERE chain_id = $1 ORDER BY number DESC LIMIT 1024`,
      [this.chainId.toString()],
    );
    return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash, parentHash: r.parent_hash }));
  }

  async advance(events: ChainEvent[], blocks: BlockRef[], to: BlockRef, finalizedNumber: bigint): Promise<void> {
    const chain = this.chainId.toString();
    await this.db.transaction(async (tx) => {
      if (events.length > 0) {
        await tx.query(
          `INSERT INTO chain_events (chain_id, block_number, block_hash, tx_hash, log_index, address, name, args)
           SELECT $1, b, h, t, i, a, n, g FROM unnest($2::bigint[], $3::varchar[], $4::varchar[], $5::int[], $6::varchar[], $7::varchar[], $8::jsonb[]) AS e(b, h, t, i, a, n, g)
           ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING`,
          [
            chain,
            events.map((e) => e.blockNumber.toString()),
            events.map((e) => e.blockHash),
            events.map((e) => e.txHash),
            events.map((e) => e.logIndex),
            events.map((e) => e.address.toLowerCase()),
            events.map((e) => e.name),
            events.map((e) => JSON.stringify(e.args)),
          ],
        );
      }
      if (blocks.length > 0) {
        await tx.query(
          `INSERT INTO chain_blocks (chain_id, number, hash, parent_hash) SELECT $1, n, h, p FROM unnest($2::bigint[], $3::varchar[], $4::varchar[]) AS b(n, h, p)
           ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash`,
          [chain, blocks.map((b) => b.number.toString()), blocks.map((b) => b.hash), blocks.map((b) => b.parentHash)],
        );
      }
      await tx.query(`DELETE FROM chain_blocks WHERE chain_id = $1 AND number < $2`, [chain, (to.number - KEEP_BLOCKS).toString()]);
      await tx.query(
        `INSERT INTO chain_cursor (chain_id, block_number, block_hash, parent_hash, finalized_block) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
           parent_hash = excluded.parent_hash, finalized_block = greatest(chain_cursor.finalized_block, excluded.finalized_block), updated_at = now()`,
        [chain, to.number.toString(), to.hash, to.parentHash, finalizedNumber.toString()],
      );
      await tx.query(`UPDATE chain_events SET final = true WHERE chain_id = $1 AND NOT final AND block_number <= $2`, [chain, finalizedNumber.toString()]);
      await this.recomputeEscrow(tx, clientsOf(events));
      await this.recomputeStakes(tx, providersOf(events));
      await this.markSettlements(tx);
    });
  }

  async rewind(ancestor: BlockRef | undefined): Promise<void> {
    const chain = this.chainId.toString();
    const after = (ancestor?.number ?? -1n).toString();
    await this.db.transaction(async (tx) => {
      const rows: { client: string }[] = await tx.query(
        `SELECT DISTINCT args->>'client' AS client FROM chain_events WHERE chain_id = $1 AND block_number > $2 AND name = ANY($3) AND args ? 'client'`,
        [chain, after, ESCROW_EVENTS],
      );
      const staking: { provider: string }[] = await tx.query(
        `SELECT DISTINCT args->>'provider' AS provider FROM chain_events WHERE chain_id = $1 AND block_number > $2 AND name = ANY($3) AND args ? 'provider'`,
        [chain, after, STAKE_EVENTS],
      );
      const holders: { client: string }[] = await tx.query(
        `SELECT DISTINCT lower(args->>'client') AS client FROM chain_events WHERE chain_id = $1 AND block_number > $2 AND name = ANY($3) AND args ? 'client'`,
        [chain, after, HOLD_EVENTS],
      );
      await tx.query(`DELETE FROM chain_events WHERE chain_id = $1 AND block_number > $2`, [chain, after]);
      await tx.query(`DELETE FROM chain_blocks WHERE chain_id = $1 AND number > $2`, [chain, after]);
      if (ancestor) {
        await tx.query(
          `UPDATE chain_cursor SET block_number = $2, block_hash = $3, parent_hash = $4, finalized_block = least(finalized_block, $2), updated_at = now() WHERE chain_id = $1`,
          [chain, ancestor.number.toString(), ancestor.hash, ancestor.parentHash],
        );
      } else {
        await tx.query(`DELETE FROM chain_cursor WHERE chain_id = $1`, [chain]);
      }
      await this.recomputeEscrow(tx, rows.map((r) => r.client));
      await this.recomputeStakes(tx, staking.map((r) => r.provider));
      await this.undoHolds(tx, ancestor === undefined, holders.map((r) => r.client));
      await tx.query(
        `UPDATE settlements s SET status = 'SUBMITTED', confirmed_at = NULL
          WHERE s.chain_id = $1 AND s.status IN ('CONFIRMED', 'FINALIZED')
            AND NOT EXISTS (SELECT 1 FROM chain_events e WHERE e.chain_id = s.chain_id AND e.name = 'BatchSettled'
                              AND e.address = s.escrow AND (e.args->>'batchId')::numeric = s.batch_id)`,
        [chain],
      );
    });
  }

  /**
   * What the chain holds for each client after a rewind, so that syncHolds sends again what the reorg undid: the
   * newest remaining HoldsUpdated (or a settlement's Debited newHeld) of each client whose hold events were undone,
   * or 0. A rewind to before the first block (a chain reset: nothing of the old chain survives, including holds sent
   * but not yet indexed) sets every account's to 0.
   */
  private async undoHolds(tx: Db, everything: boolean, clients: readonly string[]): Promise<void> {
    if (everything) {
      await tx.query(`UPDATE escrow_balances SET chain_held_wei = 0 WHERE chain_held_wei <> 0`);
      return;
    }
    if (clients.length === 0) return;
    await tx.query(
      `UPDATE escrow_balances b SET chain_held_wei = coalesce((
          SELECT coalesce(e.args->>'held', e.args->>'newHeld')::numeric FROM chain_events e
           WHERE e.chain_id = $2 AND e.name = ANY($3) AND lower(e.args->>'client') = a.address
           ORDER BY e.block_number DESC, e.log_index DESC LIMIT 1), 0)
         FROM accounts a WHERE a.id = b.account_id AND a.address = ANY($1::varchar[])`,
      [clients, this.chainId.toString(), HOLD_EVENTS],
    );
  }

  /**
   * Sets each provider's stake to the replay of its Staking events in chain order: Staked adds, UnstakeRequested
   * moves to unbonding (and sets the unlock time), Withdrawn empties unbonding by its amount, Slashed takes from
   * staked first, then unbonding (the contract's rule).
   */
  private async recomputeStakes(tx: Db, addresses: readonly string[]): Promise<void> {
    const unique = [...new Set(addresses.map((a) => a.toLowerCase()))];
    if (unique.length === 0) return;
    await tx.query(`INSERT INTO accounts (address) SELECT unnest($1::varchar[]) ON CONFLICT (address) DO NOTHING`, [unique]);
    const rows: { provider: string; name: string; args: Record<string, string> }[] = await tx.query(
      `SELECT lower(args->>'provider') AS provider, name, args FROM chain_events
        WHERE chain_id = $1 AND name = ANY($2) AND lower(args->>'provider') = ANY($3)
        ORDER BY block_number, log_index`,
      [this.chainId.toString(), STAKE_EVENTS, unique],
    );
    for (const address of unique) {
      let staked = 0n;
      let unbonding = 0n;
      let slashed = 0n;
      let unlockAt: Date | null = null;
      for (const e of rows.filter((r) => r.provider === address)) {
        const amount = BigInt(e.args.amount ?? "0");
        if (e.name === "Staked") staked += amount;
        else if (e.name === "UnstakeRequested") {
          staked -= amount;
          unbonding += amount;
          unlockAt = new Date(Number(e.args.unlockAt) * 1000);
        } else if (e.name === "Withdrawn") {
          unbonding -= amount;
          if (unbonding === 0n) unlockAt = null;
        } else if (e.name === "Slashed") {
          const fromStaked = amount < staked ? amount : staked;
          staked -= fromStaked;
          unbonding -= amount - fromStaked;
          slashed += amount;
          if (unbonding === 0n) unlockAt = null;
        }
      }
      await tx.query(
        `INSERT INTO stakes (account_id, staked_wei, unbonding_wei, slashed_wei, unlock_at)
         SELECT id, $2, $3, $4, $5 FROM accounts WHERE address = $1
         ON CONFLICT (account_id) DO UPDATE SET staked_wei = excluded.staked_wei, unbonding_wei = excluded.unbonding_wei,
           slashed_wei = excluded.slashed_wei, unlock_at = excluded.unlock_at, updated_at = now()`,
        [address, staked.toString(), unbonding.toString(), slashed.toString(), unlockAt],
      );
    }
  }

  /** Settlement batches the chain has settled: CONFIRMED when seen, FINALIZED once their event is final. */
  private async markSettlements(tx: Db): Promise<void> {
    await tx.query(
      `UPDATE settlements s SET status = CASE WHEN e.final THEN 'FINALIZED' ELSE 'CONFIRMED' END,
              tx_hash = e.tx_hash, block_number = e.block_number, confirmed_at = coalesce(s.confirmed_at, now())
         FROM chain_events e
        WHERE e.chain_id = $1 AND s.chain_id = e.chain_id AND e.name = 'BatchSettled' AND e.address = s.escrow
          AND (e.args->>'batchId')::numeric = s.batch_id
          AND (s.status IN ('PENDING', 'SUBMITTED') OR (s.status = 'CONFIRMED' AND e.final))`,
      [this.chainId.toString()],
    );
  }

  /** Sets each address's mirrored deposits to what its events add up to (creating its account on first sight). */
  private async recomputeEscrow(tx: Db, addresses: readonly string[]): Promise<void> {
    const unique = [...new Set(addresses.map((a) => a.toLowerCase()))];
    if (unique.length === 0) return;
    await tx.query(`INSERT INTO accounts (address) SELECT unnest($1::varchar[]) ON CONFLICT (address) DO NOTHING`, [unique]);
    await tx.query(
      `INSERT INTO escrow_balances (account_id, deposited_wei)
       SELECT a.id, coalesce((SELECT sum(CASE WHEN e.name = 'Deposited' THEN (e.args->>'amount')::numeric ELSE -(e.args->>'amount')::numeric END)
                                FROM chain_events e WHERE e.chain_id = $2 AND e.name = ANY($3) AND lower(e.args->>'client') = a.address), 0)
         FROM accounts a WHERE a.address = ANY($1::varchar[])
       ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei, updated_at = now()`,
      [unique, this.chainId.toString(), ESCROW_EVENTS],
    );
  }
}

/** Escrow events that say what the chain holds for a client. */
const HOLD_EVENTS = ["HoldsUpdated", "Debited"];

/** Staking events (they name a `provider`; Escrow's Withdrawn names a `client` instead). */
const STAKE_EVENTS = ["Staked", "UnstakeRequested", "Withdrawn", "Slashed"];

function providersOf(events: readonly ChainEvent[]): string[] {
  return events.filter((e) => STAKE_EVENTS.includes(e.name) && typeof e.args.provider === "string").map((e) => e.args.provider as string);
}

function clientsOf(events: readonly ChainEvent[]): string[] {
  return events.filter((e) => ESCROW_EVENTS.includes(e.name) && typeof e.args.client === "string").map((e) => e.args.client as string);
}
