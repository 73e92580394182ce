import type { MigrationInterface, QueryRunner } from "typeorm";

/** Accounts, sign-in nonces, API keys, nodes, markets, offers and the outbox. */
export class Foundation1764000000000 implements MigrationInterface {
  name = "Foundation1764000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        address varchar(42) NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-f]{40}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE auth_nonces (
        nonce varchar(64) PRIMARY KEY,
        address varchar(42) NOT NULL,
        chain_id numeric(20,0) NOT NULL,
        issued_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz
      )`);
    await q.query(`CREATE INDEX auth_nonces_expires_idx ON auth_nonces (expires_at)`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL REFERENCES accounts(id),
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        secret_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_account_idx ON api_keys (account_id)`);
    await q.query(`
      CREATE TABLE nodes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES accounts(id),
        name varchar(100) NOT NULL,
        region varchar(32) NOT NULL,
        gpus jsonb NOT NULL,
        cpu_cores integer CHECK (cpu_cores > 0),
        ram_gb integer CHECK (ram_gb > 0),
        agent_version varchar(64),
        last_heartbeat_at timestamptz,
        gpu_utilization double precision,
        gpu_temperature_c double precision,
        measured_latency_ms double precision,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (provider_id, name)
      )`);
    await q.query(`
      CREATE TABLE markets (
        id varchar(48) PRIMARY KEY,
        gpu_model varchar(32) NOT NULL,
        vram_gb integer NOT NULL CHECK (vram_gb > 0),
        sequence bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE offers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ordinal bigserial NOT NULL UNIQUE,
        node_id uuid NOT NULL REFERENCES nodes(id),
        provider_id uuid NOT NULL REFERENCES accounts(id),
        market varchar(48) NOT NULL REFERENCES markets(id),
        gpu_model varchar(32) NOT NULL,
        vram_gb integer NOT NULL,
        region varchar(32) NOT NULL,
        price_wei numeric(78,0) NOT NULL CHECK (price_wei > 0),
        gpu_count integer NOT NULL CHECK (gpu_count > 0),
        available_gpus integer NOT NULL CHECK (available_gpus >= 0 AND available_gpus <= gpu_count),
        min_duration_seconds integer CHECK (min_duration_seconds > 0),
        status varchar(16) NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CANCELLED', 'EXPIRED')),
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX offers_book_idx ON offers (market, price_wei, ordinal) WHERE status = 'OPEN'`);
    await q.query(`CREATE INDEX offers_open_price_idx ON offers (price_wei, ordinal) WHERE status = 'OPEN'`);
    await q.query(`CREATE INDEX offers_node_idx ON offers (node_id)`);
    await q.query(`CREATE INDEX offers_expiry_idx ON offers (expires_at) WHERE status = 'OPEN' AND expires_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        topic varchar(128) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["outbox", "offers", "markets", "nodes", "api_keys", "auth_nonces", "accounts"]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
