import type { MigrationInterface, QueryRunner } from "typeorm";

/** A job's life after matching: leases, progress, checkpoints (bytes kept in Postgres), results, charges. */
export class Lifecycle1764200000000 implements MigrationInterface {
  name = "Lifecycle1764200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE assignments
        ADD COLUMN progress double precision NOT NULL DEFAULT 0,
        ADD COLUMN progress_message varchar(500),
        ADD COLUMN fail_reason varchar(500),
        ADD COLUMN result_uri varchar(2048),
        ADD COLUMN cost_wei numeric(78,0)`);
    await q.query(`CREATE INDEX assignments_lease_idx ON assignments (lease_expires_at) WHERE status IN ('ASSIGNED', 'RUNNING')`);
    await q.query(`
      ALTER TABLE jobs
        ADD COLUMN result_hash varchar(80),
        ADD COLUMN result_uri varchar(2048),
        ADD COLUMN agreed_by integer`);
    await q.query(`
      CREATE TABLE checkpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES jobs(id),
        assignment_id uuid NOT NULL REFERENCES assignments(id),
        replica integer NOT NULL,
        step integer NOT NULL CHECK (step >= 0),
        sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        data bytea,
        stored_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (assignment_id, step),
        CHECK ((stored_at IS NULL) = (data IS NULL))
      )`);
    await q.query(`CREATE INDEX checkpoints_resume_idx ON checkpoints (job_id, replica, step DESC) WHERE stored_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE charges (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES jobs(id),
        assignment_id uuid NOT NULL UNIQUE REFERENCES assignments(id),
        client_id uuid NOT NULL REFERENCES accounts(id),
        provider_id uuid NOT NULL REFERENCES accounts(id),
        amount_wei numeric(78,0) NOT NULL CHECK (amount_wei >= 0),
        run_seconds integer NOT NULL CHECK (run_seconds >= 0),
        settlement_batch bigint,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX charges_unsettled_idx ON charges (created_at) WHERE settlement_batch IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE charges`);
    await q.query(`DROP TABLE checkpoints`);
    await q.query(`ALTER TABLE jobs DROP COLUMN result_hash, DROP COLUMN result_uri, DROP COLUMN agreed_by`);
    await q.query(`DROP INDEX assignments_lease_idx`);
    await q.query(`ALTER TABLE assignments DROP COLUMN progress, DROP COLUMN progress_message, DROP COLUMN fail_reason, DROP COLUMN result_uri, DROP COLUMN cost_wei`);
  }
}
