import { createHash } from "node:crypto";
import type { EntityManager } from "typeorm";
import { bpsOf } from "../../pricing";
import { insertSlash, rejectionsSince, slashableStake } from "../db/repositories/slashing.repository";

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
  const n = await rejectionsSince(tx, providerId, new Date(now.getTime() - SLASH_WINDOW_DAYS * 86_400_000));
  if (n < SLASH_AFTER_REJECTIONS) return;
  const total = await slashableStake(tx, providerId);
  const amount = total !== undefined ? bpsOf(total, SLASH_BPS) : 0n;
  if (amount <= 0n) return;
  await insertSlash(tx, providerId, jobId, amount, `0x${createHash("sha256").update(`lost validation:${jobId}`).digest("hex")}`);
}
