import type { MigrationInterface, QueryRunner } from "typeorm";

/** The hold last sent to Escrow.setHolds per account, so only changes are sent. */
export class ChainHolds1764700000000 implements MigrationInterface {
  name = "ChainHolds1764700000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_balances ADD COLUMN chain_held_wei numeric(78,0) NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_balances DROP COLUMN chain_held_wei`);
  }
}
