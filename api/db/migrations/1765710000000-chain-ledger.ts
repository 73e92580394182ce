import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The indexer keeps what it mirrors incrementally (issue 14): chain_accounts holds each address's mirrored escrow,
 * last chain hold and stake, updated from each event's delta; each event row carries how to undo what it changed
 * (`undo`: the changed fields' values before it), so a rewind restores them exactly without re-summing history.
 * Finality is the cursor's finalized_block (an event is final when its block is at or below it), no longer a second
 * write per row. The GIN index on args served no query and cost every insert; partial indexes find a batch's
 * BatchSettled and a debt's DebtPaid without scanning every such event.
 *
 * Existing mirrors carry on: chain_accounts is filled from the existing events (the same sums the indexer computed),
 * and the kept blocks are cleared but for the cursor's own, so a reorg below this point (whose rows have no undo)
 * is found as deeper than what is kept and rewinds to the start, which needs no undo.
 */
export class ChainLedger1765710000000 implements MigrationInterface {
  name = "ChainLedger1765710000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_accounts (
        chain_id numeric(20,0) NOT NULL,
        address varchar(42) NOT NULL,
        deposited numeric(78,0) NOT NULL DEFAULT 0,
        withdrawing numeric(78,0) NOT NULL DEFAULT 0,
        withdraw_unlock_at bigint,
        debt numeric(78,0) NOT NULL DEFAULT 0,
        held numeric(78,0) NOT NULL DEFAULT 0,
        staked numeric(78,0) NOT NULL DEFAULT 0,
        unbonding numeric(78,0) NOT NULL DEFAULT 0,
        slashed numeric(78,0) NOT NULL DEFAULT 0,
        stake_unlock_at bigint,
        PRIMARY KEY (chain_id, address)
      )`);
    await q.query(`ALTER TABLE chain_events ADD COLUMN undo jsonb`);
    await q.query(`
      INSERT INTO chain_accounts (chain_id, address, deposited, withdrawing, withdraw_unlock_at, debt, held)
      WITH e AS (
        SELECT chain_id, lower(args->>'client') AS client, name, (args->>'amount')::numeric AS amount, args,
               row_number() OVER (PARTITION BY chain_id, lower(args->>'client'), name IN ('WithdrawRequested', 'Withdrawn') ORDER BY block_number DESC, log_index DESC) AS newest,
               row_number() OVER (PARTITION BY chain_id, lower(args->>'client'), name IN ('HoldsUpdated', 'Debited') ORDER BY block_number DESC, log_index DESC) AS newest_hold
          FROM chain_events WHERE args ? 'client' AND name IN ('Deposited', 'Withdrawn', 'WithdrawRequested', 'DebtRecorded', 'DebtPaid', 'HoldsUpdated', 'Debited'))
      SELECT chain_id, client,
             coalesce(sum(CASE name WHEN 'Deposited' THEN amount WHEN 'Withdrawn' THEN -amount END), 0),
             coalesce(max(CASE WHEN name = 'WithdrawRequested' AND newest = 1 THEN amount END), 0),
             max(CASE WHEN name = 'WithdrawRequested' AND newest = 1 AND amount > 0 THEN (args->>'unlockAt')::bigint END),
             coalesce(sum(CASE name WHEN 'DebtRecorded' THEN amount WHEN 'DebtPaid' THEN -amount END), 0),
             coalesce(max(CASE WHEN name IN ('HoldsUpdated', 'Debited') AND newest_hold = 1 THEN coalesce(args->>'held', args->>'newHeld')::numeric END), 0)
        FROM e GROUP BY chain_id, client`);
    // stakes were replayed per provider by the indexer: carry them over for the providers each chain names
    await q.query(`
      INSERT INTO chain_accounts (chain_id, address, staked, unbonding, slashed, stake_unlock_at)
      SELECT DISTINCT ON (e.chain_id, a.address) e.chain_id, a.address, s.staked_wei, s.unbonding_wei, s.slashed_wei, extract(epoch FROM s.unlock_at)::bigint
        FROM chain_events e JOIN accounts a ON a.address = lower(e.args->>'provider') JOIN stakes s ON s.account_id = a.id
       WHERE e.name IN ('Staked', 'UnstakeRequested', 'Withdrawn', 'Slashed') AND e.args ? 'provider'
      ON CONFLICT (chain_id, address) DO UPDATE SET staked = excluded.staked, unbonding = excluded.unbonding, slashed = excluded.slashed, stake_unlock_at = excluded.stake_unlock_at`);
    await q.query(`DELETE FROM chain_blocks b USING chain_cursor c WHERE c.chain_id = b.chain_id AND b.number <> c.block_number`);
    await q.query(`ALTER TABLE chain_events DROP COLUMN final`);
    await q.query(`DROP INDEX chain_events_args_idx`);
    // each step looks up the open and confirmed batches' events, and debts' payments, by these
    await q.query(`CREATE INDEX chain_events_batch_idx ON chain_events (chain_id, address, ((args->>'batchId')::numeric)) WHERE name = 'BatchSettled'`);
    await q.query(`CREATE INDEX chain_events_debt_paid_idx ON chain_events (chain_id, address, ((args->>'debtId')::numeric)) WHERE name = 'DebtPaid'`);
    await q.query(`CREATE INDEX settlements_confirmed_idx ON settlements (chain_id) WHERE status = 'CONFIRMED'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of ["settlements_confirmed_idx", "chain_events_debt_paid_idx", "chain_events_batch_idx"]) await q.query(`DROP INDEX ${index}`);
    await q.query(`CREATE INDEX chain_events_args_idx ON chain_events USING gin (args jsonb_path_ops)`);
    await q.query(`ALTER TABLE chain_events ADD COLUMN final boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE chain_events e SET final = true FROM chain_cursor c WHERE c.chain_id = e.chain_id AND e.block_number <= c.finalized_block`);
    await q.query(`ALTER TABLE chain_events DROP COLUMN undo`);
    await q.query(`DROP TABLE chain_accounts`);
  }
}
