import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** A published source version's row (ordinal, a bigserial, as the driver gives it: a decimal string). */
export interface SourceRow {
  id: string;
  ordinal: string;
  owner_id: string;
  name: string;
  version: number;
  kind: string;
  image: string;
  command: string[] | null;
  env: { name: string; value: string }[] | null;
  description: string | null;
  created_at: Date;
}

/**
 * Publishes the next version of an owner's source name (1 for a new name). Two publishes of one name at once:
 * the later fails on the unique version (23505) and may try again.
 */
export async function insertSourceVersion(
  db: Db,
  s: { ownerId: string; name: string; kind: string; image: string; command: readonly string[] | null; env: readonly { name: string; value: string }[] | null; description: string | null },
): Promise<SourceRow> {
  const [row] = await db.query(
    `INSERT INTO sources (owner_id, name, version, kind, image, command, env, description)
           SELECT $1::uuid, $2::varchar, coalesce(max(version), 0) + 1, $3, $4, $5::jsonb, $6::jsonb, $7 FROM sources WHERE owner_id = $1::uuid AND name = $2::varchar
           RETURNING *`,
    [s.ownerId, s.name, s.kind, s.image, s.command === null ? null : JSON.stringify(s.command), s.env === null ? null : JSON.stringify(s.env), s.description],
  );
  return row;
}

/** A source version by id, if any. */
export async function sourceById(db: Db, id: string): Promise<SourceRow | undefined> {
  const [row] = await db.query(`SELECT * FROM sources WHERE id = $1`, [id]);
  return row;
}

/** Up to `limit` source versions with an ordinal below `before` (all when undefined), newest first. */
export async function sourcesBefore(db: Db, before: bigint | undefined, limit: number): Promise<SourceRow[]> {
  return db.query(`SELECT * FROM sources WHERE $1::bigint IS NULL OR ordinal < $1 ORDER BY ordinal DESC LIMIT $2`, [before?.toString() ?? null, limit]);
}
