import type { MigrationInterface, QueryRunner } from "typeorm";

/** The offer's minimum duration at the moment of the trade, billed as a minimum when the replica's work is charged. */
export class MinBilledSeconds1765100000000 implements MigrationInterface {
  name = "MinBilledSeconds1765100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assignments ADD COLUMN min_billed_seconds integer CHECK (min_billed_seconds > 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assignments DROP COLUMN min_billed_seconds`);
  }
}
