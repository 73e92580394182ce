import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** Takes a transaction-scoped advisory lock on `key` (held until the caller's transaction ends). */
export async function advisoryXactLock(tx: Db, key: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [key]);
}

/** A provider's offers: OPEN ones, OPEN ones in `market`, and those posted after `since`. */
export async function offerCountsOf(tx: Db, providerId: string, market: string, since: Date): Promise<{ open: number; inMarket: number; recent: number }> {
  const [row] = await tx.query(
    `SELECT count(*) FILTER (WHERE status = 'OPEN')::int AS open,
            count(*) FILTER (WHERE status = 'OPEN' AND market = $2)::int AS in_market,
            count(*) FILTER (WHERE created_at > $3)::int AS recent
       FROM offers WHERE provider_id = $1 AND (status = 'OPEN' OR created_at > $3)`,
    [providerId, market, since],
  );
  return { open: row.open, inMarket: row.in_market, recent: row.recent };
}

/** How many nodes a provider has registered. */
export async function nodeCountOf(tx: Db, providerId: string): Promise<number> {
  const [row] = await tx.query(`SELECT count(*)::int AS n FROM nodes WHERE provider_id = $1`, [providerId]);
  return row.n;
}

/** An account's PENDING jobs: those it is the client of, or with `viaRelay` those it ordered through the relay. */
export async function pendingJobCount(tx: Db, accountId: string, viaRelay: boolean): Promise<number> {
  const [row] = await tx.query(
    viaRelay
      ? `SELECT count(*)::int AS n FROM relay_jobs r JOIN jobs j ON j.id = r.job_id WHERE r.account_id = $1 AND j.status = 'PENDING'`
      : `SELECT count(*)::int AS n FROM jobs WHERE client_id = $1 AND status = 'PENDING'`,
    [accountId],
  );
  return row.n;
}
