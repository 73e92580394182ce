import { Readable } from "node:stream";
import type { MigrationInterface, QueryRunner } from "typeorm";
import { migrationBlobStore } from "./migration-context";

/**
 * The data plane's records: blobs (the bytes' keys, for the sweep), artifacts (a client's inputs, an assignment's
 * outputs), a job's inputs by path, its log lines (numbered per job) and the per-assignment log counters. Checkpoint
 * bytes move out of Postgres into the blob store, row by row, and the `data` column goes.
 */
export class Artifacts1765200000000 implements MigrationInterface {
  name = "Artifacts1765200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE blobs (
        sha256 char(64) PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        touched_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX blobs_touched_idx ON blobs (touched_at)`);
    await q.query(`
      CREATE TABLE artifacts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind varchar(10) NOT NULL CHECK (kind IN ('INPUT', 'OUTPUT')),
        account_id uuid NOT NULL REFERENCES accounts(id),
        job_id uuid REFERENCES jobs(id),
        assignment_id uuid REFERENCES assignments(id),
        name varchar(255) NOT NULL,
        sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        stored_at timestamptz,
        purged_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((kind = 'OUTPUT') = (assignment_id IS NOT NULL AND job_id IS NOT NULL)),
        UNIQUE (assignment_id, name)
      )`);
    await q.query(`CREATE INDEX artifacts_inputs_idx ON artifacts (account_id, created_at) WHERE kind = 'INPUT' AND purged_at IS NULL`);
    await q.query(`CREATE INDEX artifacts_sha256_idx ON artifacts (sha256) WHERE purged_at IS NULL`);
    await q.query(`CREATE INDEX artifacts_job_idx ON artifacts (job_id) WHERE job_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE job_inputs (
        job_id uuid NOT NULL REFERENCES jobs(id),
        path varchar(255) NOT NULL,
        artifact_id uuid NOT NULL REFERENCES artifacts(id),
        PRIMARY KEY (job_id, path)
      )`);
    await q.query(`CREATE INDEX job_inputs_artifact_idx ON job_inputs (artifact_id)`);
    await q.query(`
      CREATE TABLE job_logs (
        job_id uuid NOT NULL REFERENCES jobs(id),
        seq bigint NOT NULL CHECK (seq > 0),
        assignment_id uuid NOT NULL REFERENCES assignments(id),
        stream varchar(6) NOT NULL CHECK (stream IN ('STDOUT', 'STDERR')),
        line text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (job_id, seq)
      )`);
    await q.query(`ALTER TABLE jobs ADD COLUMN log_seq bigint NOT NULL DEFAULT 0`);
    await q.query(`
      ALTER TABLE assignments
        ADD COLUMN log_lines integer NOT NULL DEFAULT 0,
        ADD COLUMN log_bytes bigint NOT NULL DEFAULT 0,
        ADD COLUMN logs_dropped integer NOT NULL DEFAULT 0`);

    await q.query(`ALTER TABLE checkpoints ADD COLUMN purged_at timestamptz`);
    await this.moveCheckpointBytes(q);
    await q.query(`ALTER TABLE checkpoints DROP CONSTRAINT IF EXISTS checkpoints_check`);
    await q.query(`ALTER TABLE checkpoints DROP COLUMN data`);
    await q.query(`CREATE INDEX checkpoints_sha256_idx ON checkpoints (sha256) WHERE purged_at IS NULL`);
  }

  /** Each stored checkpoint's bytes into the blob store (one row in memory at a time), recorded in blobs. */
  private async moveCheckpointBytes(q: QueryRunner): Promise<void> {
    const [{ n }] = await q.query(`SELECT count(*)::int AS n FROM checkpoints WHERE data IS NOT NULL`);
    if (n === 0) return;
    const store = migrationBlobStore();
    if (!store) throw new Error(`${n} checkpoints hold their bytes in Postgres; run the migrations through the app (npm run migrate) so they can move to the blob store`);
    for (;;) {
      const rows: { id: string; sha256: string; size_bytes: string; data: Buffer }[] = await q.query(
        `SELECT id, sha256, size_bytes, data FROM checkpoints WHERE data IS NOT NULL ORDER BY id LIMIT 1`,
      );
      if (rows.length === 0) return;
      const [row] = rows;
      await store.put({ sha256: row.sha256, sizeBytes: BigInt(row.size_bytes) }, Readable.from([row.data]));
      await q.query(`INSERT INTO blobs (sha256, size_bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO UPDATE SET touched_at = now()`, [row.sha256, row.size_bytes]);
      await q.query(`UPDATE checkpoints SET data = NULL WHERE id = $1`, [row.id]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE checkpoints ADD COLUMN data bytea`);
    await q.query(`UPDATE checkpoints SET stored_at = NULL`);
    await q.query(`ALTER TABLE checkpoints DROP COLUMN purged_at`);
    await q.query(`ALTER TABLE assignments DROP COLUMN log_lines, DROP COLUMN log_bytes, DROP COLUMN logs_dropped`);
    await q.query(`ALTER TABLE jobs DROP COLUMN log_seq`);
    await q.query(`DROP TABLE job_logs`);
    await q.query(`DROP TABLE job_inputs`);
    await q.query(`DROP TABLE artifacts`);
    await q.query(`DROP TABLE blobs`);
  }
}
