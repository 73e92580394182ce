import type { MigrationInterface, QueryRunner } from "typeorm";

/** Escrow balances, provider reputation counters, jobs (the bid side), assignments and trades. */
export class Jobs1764100000000 implements MigrationInterface {
  name = "Jobs1764100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE escrow_balances (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        deposited_wei numeric(78,0) NOT NULL DEFAULT 0 CHECK (deposited_wei >= 0),
        held_wei numeric(78,0) NOT NULL DEFAULT 0 CHECK (held_wei >= 0),
        spent_wei numeric(78,0) NOT NULL DEFAULT 0 CHECK (spent_wei >= 0),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (held_wei + spent_wei <= deposited_wei)
      )`);
    await q.query(`
      ALTER TABLE accounts
        ADD COLUMN completed_jobs integer NOT NULL DEFAULT 0,
        ADD COLUMN failed_jobs integer NOT NULL DEFAULT 0,
        ADD COLUMN expired_jobs integer NOT NULL DEFAULT 0,
        ADD COLUMN rejected_jobs integer NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ordinal bigserial NOT NULL UNIQUE,
        client_id uuid NOT NULL REFERENCES accounts(id),
        kind varchar(32) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'PENDING'
          CHECK (status IN ('PENDING', 'MATCHED', 'RUNNING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED')),
        resting boolean NOT NULL DEFAULT false,
        image varchar(512),
        command jsonb,
        env jsonb,
        input_uri varchar(2048),
        source_id uuid,
        gpu_count integer NOT NULL CHECK (gpu_count > 0),
        min_vram_gb integer NOT NULL CHECK (min_vram_gb >= 0),
        gpu_models varchar(32)[],
        region varchar(32),
        max_latency_ms integer CHECK (max_latency_ms > 0),
        min_reputation double precision CHECK (min_reputation >= 0 AND min_reputation <= 1),
        max_price_wei numeric(78,0) NOT NULL CHECK (max_price_wei > 0),
        max_duration_seconds integer NOT NULL CHECK (max_duration_seconds > 0),
        redundancy integer NOT NULL CHECK (redundancy > 0),
        strategy varchar(16) NOT NULL,
        weights jsonb,
        checkpoint_interval_seconds integer CHECK (checkpoint_interval_seconds > 0),
        idempotency_key varchar(128),
        request_hash char(64) NOT NULL,
        hold_wei numeric(78,0) NOT NULL CHECK (hold_wei >= 0),
        excluded jsonb,
        progress double precision NOT NULL DEFAULT 0,
        status_message varchar(500),
        cost_wei numeric(78,0),
        match_attempted_at timestamptz,
        matched_at timestamptz,
        ended_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (client_id, idempotency_key)
      )`);
    await q.query(`CREATE INDEX jobs_bids_idx ON jobs (max_price_wei DESC, ordinal) WHERE status = 'PENDING' AND resting`);
    await q.query(`CREATE INDEX jobs_pending_idx ON jobs (ordinal) WHERE status = 'PENDING'`);
    await q.query(`CREATE INDEX jobs_client_idx ON jobs (client_id, ordinal DESC)`);
    await q.query(`
      CREATE TABLE assignments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES jobs(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        node_id uuid NOT NULL REFERENCES nodes(id),
        provider_id uuid NOT NULL REFERENCES accounts(id),
        replica integer NOT NULL CHECK (replica >= 0),
        attempt integer NOT NULL CHECK (attempt > 0),
        status varchar(16) NOT NULL DEFAULT 'ASSIGNED'
          CHECK (status IN ('ASSIGNED', 'RUNNING', 'COMPLETED', 'FAILED', 'EXPIRED', 'CANCELLED', 'REJECTED')),
        gpus integer NOT NULL CHECK (gpus > 0),
        price_wei numeric(78,0) NOT NULL CHECK (price_wei > 0),
        resumed_from_step integer,
        result_hash varchar(80),
        started_at timestamptz,
        ended_at timestamptz,
        lease_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (job_id, replica, attempt)
      )`);
    await q.query(`CREATE INDEX assignments_job_idx ON assignments (job_id)`);
    await q.query(`CREATE INDEX assignments_node_idx ON assignments (node_id, created_at DESC)`);
    await q.query(`CREATE UNIQUE INDEX assignments_live_replica_idx ON assignments (job_id, replica) WHERE status IN ('ASSIGNED', 'RUNNING')`);
    await q.query(`
      CREATE TABLE trades (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ordinal bigserial NOT NULL UNIQUE,
        market varchar(48) NOT NULL REFERENCES markets(id),
        job_id uuid NOT NULL REFERENCES jobs(id),
        assignment_id uuid NOT NULL UNIQUE REFERENCES assignments(id),
        offer_id uuid NOT NULL REFERENCES offers(id),
        price_wei numeric(78,0) NOT NULL CHECK (price_wei > 0),
        gpus integer NOT NULL CHECK (gpus > 0),
        wait_ms bigint NOT NULL CHECK (wait_ms >= 0),
        executed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX trades_market_idx ON trades (market, ordinal DESC)`);
    await q.query(`CREATE INDEX trades_market_time_idx ON trades (market, executed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["trades", "assignments", "jobs", "escrow_balances"]) await q.query(`DROP TABLE ${table}`);
    await q.query(`ALTER TABLE accounts DROP COLUMN completed_jobs, DROP COLUMN failed_jobs, DROP COLUMN expired_jobs, DROP COLUMN rejected_jobs`);
  }
}
