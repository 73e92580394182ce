import type { MigrationInterface, QueryRunner } from "typeorm";

/** Published workload sources: versioned by (owner, name); a job may pin one version by id. */
export class Sources1764800000000 implements MigrationInterface {
  name = "Sources1764800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        ordinal bigserial NOT NULL UNIQUE,
        owner_id uuid NOT NULL REFERENCES accounts(id),
        name varchar(100) NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        kind varchar(32) NOT NULL,
        image varchar(512) NOT NULL,
        command jsonb,
        env jsonb,
        description varchar(2000),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (owner_id, name, version)
      )`);
    await q.query(`ALTER TABLE jobs ADD CONSTRAINT jobs_source_fk FOREIGN KEY (source_id) REFERENCES sources (id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_source_fk`);
    await q.query(`DROP TABLE sources`);
  }
}
