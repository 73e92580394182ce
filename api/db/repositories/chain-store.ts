import type { DataSource, EntityManager } from "typeorm";
import type { BlockRef, ChainEvent, StorePort } from "../../../indexer";
import type { Undo } from "../../../indexer/ledger";
import { ChainLedger } from "./chain-ledger";

type Db = Pick<EntityManager, "query">;

/** Escrow events that record or pay a settlement debt. */
const DEBT_EVENTS = ["DebtRecorded", "DebtPaid"];
/** Blocks kept below the cursor for reorg detection (older ones are final in practice and pruned). */
const KEEP_BLOCKS = 256n;

/**
 * The indexer's storage in Postgres: each `advance` and `rewind` is one transaction that writes the events (each
 * once, with how to undo what it changed), the kept blocks, the cursor with the finalized block (an event is final
 * when its block is at or below it), and what the events change: chain_accounts and its mirrors (escrow deposits,
 * withdrawal requests, debts, stakes) from each event's delta (ChainLedger), settlement batches, and the charges
 * of debts. A rewind undoes exactly what came after the ancestor, newest event first.
 */
export class PgChainStore implements StorePort {
  private readonly ledger: ChainLedger;

  constructor(
    private readonly db: DataSource,
    private readonly chainId: bigint,
  ) {
    this.ledger = new ChainLedger(chainId.toString());
  }

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
        const undos = await this.ledger.apply(tx, events);
        await tx.query(
          `INSERT INTO chain_events (chain_id, block_number, block_hash, tx_hash, log_index, address, name, args, undo)
           SELECT $1, * FROM unnest($2::bigint[], $3::varchar[], $4::varchar[], $5::int[], $6::varchar[], $7::varchar[], $8::jsonb[], $9::jsonb[])`,
          [
            chain,
            events.map((e) => e.blockNumber.toString()),
            events.map((e) => e.blockHash),
            events.map((e) => e.txHash),
            events.map((e) => e.logIndex),
            events.map((e) => e.address.toLowerCase()),
            events.map((e) => e.name),
            events.map((e) => JSON.stringify(e.args)),
            undos.map((u) => (u ? JSON.stringify(u) : null)),
          ],
        );
      }
      if (blocks.length > 0) {
        await tx.query(
          `INSERT INTO chain_blocks (chain_id, number, hash, parent_hash) SELECT $1, * FROM unnest($2::bigint[], $3::varchar[], $4::varchar[])
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
      await markSettlements(tx, chain);
      if (events.some((e) => DEBT_EVENTS.includes(e.name))) await reconcileDebts(tx, chain);
    });
  }

  async rewind(ancestor: BlockRef | undefined): Promise<void> {
    const chain = this.chainId.toString();
    const after = (ancestor?.number ?? -1n).toString();
    await this.db.transaction(async (tx) => {
      if (ancestor) {
        const undone: { name: string; args: ChainEvent["args"]; undo: Undo | null }[] = await tx.query(
          `SELECT name, args, undo FROM chain_events WHERE chain_id = $1 AND block_number > $2 AND undo IS NOT NULL ORDER BY block_number DESC, log_index DESC`,
          [chain, after],
        );
        await this.ledger.undo(tx, undone);
      } else {
        await this.ledger.reset(tx);
      }
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
}

/**
 * Settlement batches the chain has settled: CONFIRMED when seen, FINALIZED once their event's block is final (at or
 * below the cursor's finalized block). Only open and confirmed batches are looked at, each by its event's index.
 */
async function markSettlements(tx: Db, chain: string): Promise<void> {
  await tx.query(
    `UPDATE settlements s SET status = CASE WHEN e.block_number <= c.finalized_block THEN 'FINALIZED' ELSE 'CONFIRMED' END,
            tx_hash = e.tx_hash, block_number = e.block_number, confirmed_at = coalesce(s.confirmed_at, now())
       FROM chain_events e, chain_cursor c
      WHERE s.chain_id = $1 AND s.status IN ('PENDING', 'SUBMITTED', 'CONFIRMED') AND c.chain_id = $1
        AND e.chain_id = $1 AND e.name = 'BatchSettled' AND e.address = s.escrow AND (e.args->>'batchId')::numeric = s.batch_id
        AND (s.status <> 'CONFIRMED' OR e.block_number <= c.finalized_block)`,
    [chain],
  );
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
