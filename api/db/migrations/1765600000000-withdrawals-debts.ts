import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Two-step withdrawals and settlement debts, as the indexer mirrors them from Escrow: an account's pending withdrawal
 * request (not available to new jobs from the moment the chain records it) and what it owes for settled lines its
 * balance did not cover; a charge in such a debt is taken out of its batch (debt_batch keeps which) until the debt
 * is paid, so it counts as pending for its provider and not as settled for its job.
 */
export class WithdrawalsDebts1765600000000 implements MigrationInterface {
  name = "WithdrawalsDebts1765600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_balances ADD COLUMN withdrawing_wei numeric(78,0) NOT NULL DEFAULT 0,
      ADD COLUMN withdraw_unlock_at timestamptz, ADD COLUMN debt_wei numeric(78,0) NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE charges ADD COLUMN debt_id numeric(78,0), ADD COLUMN debt_batch bigint REFERENCES settlements (batch_id)`);
    await q.query(`CREATE INDEX charges_debt_idx ON charges (debt_id) WHERE debt_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE charges SET settlement_batch = debt_batch WHERE debt_batch IS NOT NULL`);
    await q.query(`DROP INDEX charges_debt_idx`);
    await q.query(`ALTER TABLE charges DROP COLUMN debt_id, DROP COLUMN debt_batch`);
    await q.query(`ALTER TABLE escrow_balances DROP COLUMN withdrawing_wei, DROP COLUMN withdraw_unlock_at, DROP COLUMN debt_wei`);
  }
}
