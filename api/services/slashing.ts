import { createHash } from "node:crypto";
import type { EntityManager } from "typeorm";
import { bpsOf } from "../../pricing";

/** The slashing rule: a provider with this many REJECTED results within the window... */
export const SLASH_AFTER_REJECTIONS = 3;
export const SLASH_WINDOW_DAYS = 30;
/** ...loses this share of its stake (basis points; the contract caps a slash at 10%) for each further rejection. */
export const SLASH_BPS = 500;

/**
 * Records a slash when a provider's result lost the vote for the SLASH_AFTER_REJECTIONS-th time (or more) within
 * SLASH_WINDOW_DAYS: SLASH_BPS of its mirrored stake (staked + unbonding), once per (provider, job). The slasher
 * sends it to Staking.slash; nothing is recorded for a provider without stake.
 */
export async function decideSlash(tx: Pick<EntityManager, "query">, providerId: string, jobId: string, now: Date): Promise<void> {
  const [{ n }] = await tx.query(
    `SELECT count(*)::int AS n FROM assignments WHERE provider_id = $1 AND status = 'REJECTED' AND coalesce(ended_at, created_at) > $2`,
    [providerId, new Date(now.getTime() - SLASH_WINDOW_DAYS * 86_400_000)],
  );
  if (n < SLASH_AFTER_REJECTIONS) return;
  const [stake] = await tx.query(`SELECT staked_wei + unbonding_wei AS total FROM stakes WHERE account_id = $1`, [providerId]);
  const amount = stake ? bpsOf(BigInt(stake.total), SLASH_BPS) : 0n;
  if (amount <= 0n) return;
  await tx.query(
    `INSERT INTO slashes (provider_id, job_id, amount_wei, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (provider_id, job_id) DO NOTHING`,
    [providerId, jobId, amount.toString(), `0x${createHash("sha256").update(`lost validation:${jobId}`).digest("hex")}`],
  );
}
