/** main's Postgres chain store before issue 14, kept unchanged as the chain benchmark's baseline (bench/chain-indexers.ts). */
import type { DataSource, EntityManager } from "typeorm";
import type { BlockRef, ChainEvent, StorePort } from "../../indexer";

type Db = Pick<EntityManager, "query">;

/**
 * Escrow events whose `client` argument changes what the marketplace mirrors of the client's escrow: deposited =
 * sum(Deposited) - sum(Withdrawn); withdrawing = the amount of the newest WithdrawRequested unless a Withdrawn came
 * after it; debt = sum(DebtRecorded) - sum(DebtPaid). Settlement debits (Debited, DebtPaid) are left out of
 * deposited on purpose: the marketplace already counts what a job spent (escrow_balances.spent_wei, from its
 * charges) when the work ends, so available = deposited - withdrawing - held - spent before and after the batch
 * settles on chain.
 */
const ESCROW_EVENTS = ["Deposited", "Withdrawn", "WithdrawRequested", "DebtRecorded", "DebtPaid"];
/** Escrow events that record or pay a settlement debt. */
const DEBT_EVENTS = ["DebtRecorded", "DebtPaid"];
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
      if (events.some((e) => DEBT_EVENTS.includes(e.name))) await reconcileDebts(tx, chain);
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
      await reconcileDebts(tx, chain);
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

  /**
   * Sets each address's mirrored deposits, pending withdrawal request and debt to what its events add up to
   * (creating its account on first sight).
   */
  private async recomputeEscrow(tx: Db, addresses: readonly string[]): Promise<void> {
    const unique = [...new Set(addresses.map((a) => a.toLowerCase()))];
    if (unique.length === 0) return;
    await tx.query(`INSERT INTO accounts (address) SELECT unnest($1::varchar[]) ON CONFLICT (address) DO NOTHING`, [unique]);
    await tx.query(
      `WITH e AS (
         SELECT lower(args->>'client') AS client, name, (args->>'amount')::numeric AS amount, args->>'unlockAt' AS unlock_at,
                row_number() OVER (PARTITION BY lower(args->>'client'), name IN ('WithdrawRequested', 'Withdrawn') ORDER BY block_number DESC, log_index DESC) AS newest
           FROM chain_events WHERE chain_id = $2 AND name = ANY($3) AND lower(args->>'client') = ANY($1::varchar[]))
       INSERT INTO escrow_balances (account_id, deposited_wei, withdrawing_wei, withdraw_unlock_at, debt_wei)
       SELECT a.id,
              coalesce((SELECT sum(CASE WHEN e.name = 'Deposited' THEN e.amount ELSE -e.amount END) FROM e WHERE e.client = a.address AND e.name IN ('Deposited', 'Withdrawn')), 0),
              coalesce((SELECT e.amount FROM e WHERE e.client = a.address AND e.name = 'WithdrawRequested' AND e.newest = 1), 0),
              (SELECT to_timestamp(e.unlock_at::bigint) FROM e WHERE e.client = a.address AND e.name = 'WithdrawRequested' AND e.newest = 1 AND e.amount > 0),
              coalesce((SELECT sum(CASE WHEN e.name = 'DebtRecorded' THEN e.amount ELSE -e.amount END) FROM e WHERE e.client = a.address AND e.name IN ('DebtRecorded', 'DebtPaid')), 0)
         FROM accounts a WHERE a.address = ANY($1::varchar[])
       ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei, withdrawing_wei = excluded.withdrawing_wei,
         withdraw_unlock_at = excluded.withdraw_unlock_at, debt_wei = excluded.debt_wei, updated_at = now()`,
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

/** Open debts of this chain as its events say: recorded, and not paid (by the same escrow). */
const OPEN_DEBTS = `
  recorded AS (
    SELECT e.address, (e.args->>'debtId')::numeric AS debt_id, (e.args->>'batchId')::bigint AS batch_id, lower(e.args->>'client') AS client
      FROM chain_events e WHERE e.chain_id = $1 AND e.name = 'DebtRecorded'),
  open AS (
    SELECT r.* FROM recorded r WHERE NOT EXISTS (
      SELECT 1 FROM chain_events p WHERE p.chain_id = $1 AND p.name = 'DebtPaid' AND p.address = r.address AND (p.args->>'debtId')::numeric = r.debt_id))`;

/**
 * Puts each charge where the chain's debt events say it is, so that a rewind undoes exactly what came after the
 * ancestor: a client's charges in a batch line that became an open debt leave the batch (settlement_batch NULL,
 * debt_batch the batch, debt_id the debt), so they count as pending for their providers and unsettled for their
 * jobs, and are never batched again; once the debt is paid (or its DebtRecorded is undone) they go back to their
 * batch, keeping debt_id only while the debt was recorded.
 */
async function reconcileDebts(tx: Db, chain: string): Promise<void> {
  await tx.query(
    `WITH ${OPEN_DEBTS}
     UPDATE charges c SET debt_id = o.debt_id, debt_batch = c.settlement_batch, settlement_batch = NULL
       FROM open o JOIN settlements s ON s.batch_id = o.batch_id AND s.chain_id = $1 AND s.escrow = o.address JOIN accounts a ON a.address = o.client
      WHERE c.settlement_batch = o.batch_id AND c.client_id = a.id`,
    [chain],
  );
  await tx.query(
    `WITH ${OPEN_DEBTS}
     UPDATE charges c SET settlement_batch = coalesce(c.debt_batch, c.settlement_batch), debt_batch = NULL,
            debt_id = CASE WHEN EXISTS (SELECT 1 FROM recorded r WHERE r.debt_id = c.debt_id AND r.batch_id = coalesce(c.debt_batch, c.settlement_batch)) THEN c.debt_id END
      WHERE c.debt_id IS NOT NULL
        AND (c.debt_batch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM open o WHERE o.debt_id = c.debt_id AND o.batch_id = c.debt_batch)
             OR c.debt_batch IS NULL AND NOT EXISTS (SELECT 1 FROM recorded r WHERE r.debt_id = c.debt_id AND r.batch_id = c.settlement_batch))`,
    [chain],
  );
}

function clientsOf(events: readonly ChainEvent[]): string[] {
  return events.filter((e) => ESCROW_EVENTS.includes(e.name) && typeof e.args.client === "string").map((e) => e.args.client as string);
}
