import type { MigrationInterface, QueryRunner } from "typeorm";

/** The chain mirror: the indexer's cursor and recent blocks, and every decoded event with its block and finality. */
export class Chain1764300000000 implements MigrationInterface {
  name = "Chain1764300000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chain_cursor (
        chain_id numeric(20,0) PRIMARY KEY,
        block_number bigint NOT NULL,
        block_hash varchar(66) NOT NULL,
        parent_hash varchar(66) NOT NULL,
        finalized_block bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE chain_blocks (
        chain_id numeric(20,0) NOT NULL,
        number bigint NOT NULL,
        hash varchar(66) NOT NULL,
        parent_hash varchar(66) NOT NULL,
        PRIMARY KEY (chain_id, number)
      )`);
    await q.query(`
      CREATE TABLE chain_events (
        id bigserial PRIMARY KEY,
        chain_id numeric(20,0) NOT NULL,
        block_number bigint NOT NULL,
        block_hash varchar(66) NOT NULL,
        tx_hash varchar(66) NOT NULL,
        log_index integer NOT NULL,
        address varchar(42) NOT NULL,
        name varchar(64) NOT NULL,
        args jsonb NOT NULL,
        final boolean NOT NULL DEFAULT false,
        UNIQUE (chain_id, tx_hash, log_index)
      )`);
    await q.query(`CREATE INDEX chain_events_block_idx ON chain_events (chain_id, block_number)`);
    await q.query(`CREATE INDEX chain_events_name_idx ON chain_events (name, block_number)`);
    await q.query(`CREATE INDEX chain_events_args_idx ON chain_events USING gin (args jsonb_path_ops)`);
    // The chain is the truth for deposits: a withdrawal the marketplace did not expect must still be mirrored
    // (available then shows below zero and nothing new can be held), so the mirror cannot refuse it.
    await q.query(`ALTER TABLE escrow_balances DROP CONSTRAINT IF EXISTS escrow_balances_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_balances ADD CONSTRAINT escrow_balances_check CHECK (held_wei + spent_wei <= deposited_wei)`);
    for (const table of ["chain_events", "chain_blocks", "chain_cursor"]) await q.query(`DROP TABLE ${table}`);
  }
}
