import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * What the chain says of unsigned jobs' cover on a windowed escrow, as the settlement runner reads it (one writer):
 * the escrow's challenge window (immutable, read once), and each client's spending allowance (Escrow.allowanceOf)
 * with its pending decrease, re-read after any allowance event or settled batch the indexer mirrored since. And a
 * signed order whose nonce a batch this marketplace did not send marked first (a settler key used elsewhere) is
 * burned: its job's charges then settle without it. A charge in a batch entry a challenge upheld is refunded.
 */
export class SpendingAllowances1765900000000 implements MigrationInterface {
  name = "SpendingAllowances1765900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE escrow_windows (
        chain_id numeric(78, 0) NOT NULL,
        escrow text NOT NULL,
        challenge_window_seconds bigint NOT NULL CHECK (challenge_window_seconds >= 0),
        read_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, escrow)
      )`);
    await q.query(`
      CREATE TABLE spending_allowances (
        chain_id numeric(78, 0) NOT NULL,
        escrow text NOT NULL,
        address text NOT NULL,
        amount_wei numeric(78, 0) NOT NULL CHECK (amount_wei >= 0),
        until bigint NOT NULL,
        next_amount_wei numeric(78, 0),
        next_until bigint,
        next_at bigint,
        read_block bigint NOT NULL,
        read_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, escrow, address)
      )`);
    await q.query(`ALTER TABLE job_orders ADD COLUMN burned_at timestamptz`);
    // a charge whose batch entry a challenge upheld: the chain gave its debit back to the client and took its credit back
    await q.query(`ALTER TABLE charges ADD COLUMN refunded_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE charges DROP COLUMN refunded_at`);
    await q.query(`ALTER TABLE job_orders DROP COLUMN burned_at`);
    await q.query(`DROP TABLE spending_allowances`);
    await q.query(`DROP TABLE escrow_windows`);
  }
}
