import type { MigrationInterface, QueryRunner } from "typeorm";

/** Settlement batches: what was (or will be) sent to Escrow.settle, and what the chain says became of it. */
export class Settlement1764400000000 implements MigrationInterface {
  name = "Settlement1764400000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE settlements (
        batch_id bigserial PRIMARY KEY,
        chain_id numeric(20,0) NOT NULL,
        escrow varchar(42) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUBMITTED', 'CONFIRMED', 'FINALIZED', 'FAILED')),
        job_count integer NOT NULL CHECK (job_count > 0),
        total_amount numeric(78,0) NOT NULL,
        fee_amount numeric(78,0) NOT NULL,
        merkle_root char(66) NOT NULL,
        payload jsonb NOT NULL,
        tx_hash varchar(66),
        block_number bigint,
        gas_used numeric(78,0),
        error varchar(500),
        created_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        confirmed_at timestamptz
      )`);
    await q.query(`CREATE INDEX settlements_open_idx ON settlements (batch_id) WHERE status IN ('PENDING', 'SUBMITTED')`);
    await q.query(`ALTER TABLE charges ADD COLUMN fee_wei numeric(78,0) NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE charges ADD CONSTRAINT charges_settlement_fk FOREIGN KEY (settlement_batch) REFERENCES settlements (batch_id)`);
    await q.query(`CREATE INDEX charges_batch_idx ON charges (settlement_batch)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX charges_batch_idx`);
    await q.query(`ALTER TABLE charges DROP CONSTRAINT charges_settlement_fk`);
    await q.query(`ALTER TABLE charges DROP COLUMN fee_wei`);
    await q.query(`DROP TABLE settlements`);
  }
}
