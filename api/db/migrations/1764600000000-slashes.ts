import type { MigrationInterface, QueryRunner } from "typeorm";

/** Slashes the marketplace decided (repeated lost validations), sent to Staking.slash by the slasher. */
export class Slashes1764600000000 implements MigrationInterface {
  name = "Slashes1764600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE slashes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES accounts(id),
        job_id uuid NOT NULL REFERENCES jobs(id),
        amount_wei numeric(78,0) NOT NULL CHECK (amount_wei > 0),
        reason char(66) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
        tx_hash varchar(66),
        error varchar(500),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (provider_id, job_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE slashes`);
  }
}
