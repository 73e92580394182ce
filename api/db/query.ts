import type { EntityManager } from "typeorm";

/** Runs an UPDATE/DELETE ... RETURNING and gives its rows (TypeORM's postgres driver answers [rows, count]). */
export async function updateReturning<T>(db: Pick<EntityManager, "query">, sql: string, params: unknown[]): Promise<T[]> {
  const result = await db.query(sql, params);
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : []) as T[];
}
