import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** Jobs by status, for the gx_jobs gauge. */
export async function jobsByStatus(db: Db): Promise<Record<string, number>> {
  const rows: { status: string; n: number }[] = await db.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status`);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Submit-to-match latency quantiles in seconds over the jobs matched in the last 5 minutes (null without any). */
export async function matchLatency(db: Db): Promise<{ p50: number | null; p99: number | null }> {
  const [r] = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM matched_at - created_at)) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM matched_at - created_at)) AS p99
       FROM jobs WHERE matched_at > now() - interval '5 minutes'`,
  );
  return { p50: r.p50 === null ? null : Number(r.p50), p99: r.p99 === null ? null : Number(r.p99) };
}
