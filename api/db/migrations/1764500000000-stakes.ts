import type { MigrationInterface, QueryRunner } from "typeorm";

/** Providers' stake as the Staking contract's events say (replayed, so a rewind recomputes it). */
export class Stakes1764500000000 implements MigrationInterface {
  name = "Stakes1764500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stakes (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        staked_wei numeric(78,0) NOT NULL DEFAULT 0,
        unbonding_wei numeric(78,0) NOT NULL DEFAULT 0,
        slashed_wei numeric(78,0) NOT NULL DEFAULT 0,
        unlock_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE stakes`);
  }
}
