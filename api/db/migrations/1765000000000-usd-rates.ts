import type { MigrationInterface, QueryRunner } from "typeorm";

/** OGPU/USD rates fed by an operator or a price feed; the latest one prices new relay jobs (else OGPU_USD_RATE). */
export class UsdRates1765000000000 implements MigrationInterface {
  name = "UsdRates1765000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usd_rates (
        id bigserial PRIMARY KEY,
        usd_per_ogpu_micros bigint NOT NULL CHECK (usd_per_ogpu_micros > 0),
        source varchar(100) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usd_rates`);
  }
}
