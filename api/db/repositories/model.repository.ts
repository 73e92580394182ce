import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** The GPU models of all markets. */
export async function marketGpuModels(db: Db): Promise<string[]> {
  const rows: { gpu_model: string }[] = await db.query(`SELECT DISTINCT gpu_model FROM markets`);
  return rows.map((r) => r.gpu_model);
}
