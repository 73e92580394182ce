import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** How many of a provider's results were REJECTED (lost the vote) after `since`. */
export async function rejectionsSince(tx: Db, providerId: string, since: Date): Promise<number> {
  const [{ n }] = await tx.query(
    `SELECT count(*)::int AS n FROM assignments WHERE provider_id = $1 AND status = 'REJECTED' AND coalesce(ended_at, created_at) > $2`,
    [providerId, since],
  );
  return n;
}

/** A provider's mirrored stake that can be slashed (staked + unbonding), in wei; undefined when it never staked. */
export async function slashableStake(tx: Db, providerId: string): Promise<bigint | undefined> {
  const [stake] = await tx.query(`SELECT staked_wei + unbonding_wei AS total FROM stakes WHERE account_id = $1`, [providerId]);
  return stake ? BigInt(stake.total) : undefined;
}

/** Records a slash of a provider for a job, once per (provider, job): a second one for the same job is not written. */
export async function insertSlash(tx: Db, providerId: string, jobId: string, amountWei: bigint, reason: string): Promise<void> {
  await tx.query(
    `INSERT INTO slashes (provider_id, job_id, amount_wei, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (provider_id, job_id) DO NOTHING`,
    [providerId, jobId, amountWei.toString(), reason],
  );
}
