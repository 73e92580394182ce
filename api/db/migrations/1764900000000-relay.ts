import type { MigrationInterface, QueryRunner } from "typeorm";

/** The HTTPS relay: prepaid USD accounts (micro-dollars), their credits, and relay jobs with the rate fixed at quote time. */
export class Relay1764900000000 implements MigrationInterface {
  name = "Relay1764900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usd_accounts (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        credited_micros bigint NOT NULL DEFAULT 0 CHECK (credited_micros >= 0),
        held_micros bigint NOT NULL DEFAULT 0 CHECK (held_micros >= 0),
        spent_micros bigint NOT NULL DEFAULT 0 CHECK (spent_micros >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (held_micros + spent_micros <= credited_micros)
      )`);
    await q.query(`
      CREATE TABLE usd_credits (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL REFERENCES accounts(id),
        amount_micros bigint NOT NULL CHECK (amount_micros > 0),
        note varchar(200),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE relay_jobs (
        job_id uuid PRIMARY KEY REFERENCES jobs(id),
        account_id uuid NOT NULL REFERENCES accounts(id),
        idempotency_key varchar(128) NOT NULL,
        request_hash char(64) NOT NULL,
        usd_per_ogpu_micros bigint NOT NULL CHECK (usd_per_ogpu_micros > 0),
        usd_per_gpu_hour_micros bigint NOT NULL,
        max_usd_micros bigint NOT NULL,
        charged_usd_micros bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (account_id, idempotency_key)
      )`);
    await q.query(`CREATE INDEX relay_jobs_open_idx ON relay_jobs (created_at) WHERE charged_usd_micros IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ["relay_jobs", "usd_credits", "usd_accounts"]) await q.query(`DROP TABLE ${t}`);
  }
}
