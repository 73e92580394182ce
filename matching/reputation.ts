import { MatchingError } from "./errors";

/** A provider's record: assignments completed, failed, expired (lease lapsed) and rejected (lost the result vote). */
export interface ReputationInput {
  completed: number;
  failed: number;
  expired: number;
  rejected: number;
  /** The provider's stake in wei; each STAKE_UNIT_WEI counts as one completed assignment, at most STAKE_BONUS_MAX. */
  stakedWei?: bigint;
}

/** Stake that counts as one completed assignment: 1,000 OGPU. */
export const STAKE_UNIT_WEI = 1000n * 10n ** 18n;
/** At most this many completed assignments' worth of reputation comes from stake. */
export const STAKE_BONUS_MAX = 4;

/** Successes of the Beta prior: a newcomer counts as having completed 2 of {@link REPUTATION_PRIOR_TOTAL} assignments. */
export const REPUTATION_PRIOR_SUCCESSES = 2;
/** Assignments of the Beta prior: a newcomer's reputation is 2 / 4 = 0.5. */
export const REPUTATION_PRIOR_TOTAL = 4;
/** A rejected result counts this many times against a provider: returning wrong results is worse than failing. */
export const REJECTED_WEIGHT = 2;

/**
 * A provider's reputation in [0, 1], the mean of a Beta prior updated by its record and its stake:
 * (completed + s + 2) / (completed + s + failed + expired + 2 × rejected + 4), where s = min(4, floor(stake / 1,000
 * OGPU)): stake vouches for a provider like completed work, up to four assignments' worth. A newcomer without
 * stake has 0.5; completing work raises it
 * towards 1, failures, expiries and (doubly) rejections lower it towards 0. Non-decreasing in `completed`,
 * non-increasing in the others. Throws INVALID_HISTORY when a count is not a whole number ≥ 0.
 */
export function reputationOf(input: ReputationInput): number {
  for (const name of ["completed", "failed", "expired", "rejected"] as const) {
    const n = input[name];
    if (!Number.isSafeInteger(n) || n < 0) throw new MatchingError("INVALID_HISTORY", `${name} must be a whole number of zero or more, got ${n}`);
  }
  const { completed, failed, expired, rejected } = input;
  const staked = input.stakedWei ?? 0n;
  const bonus = staked <= 0n ? 0 : Number(staked / STAKE_UNIT_WEI > BigInt(STAKE_BONUS_MAX) ? BigInt(STAKE_BONUS_MAX) : staked / STAKE_UNIT_WEI);
  return (completed + bonus + REPUTATION_PRIOR_SUCCESSES) / (completed + bonus + failed + expired + REJECTED_WEIGHT * rejected + REPUTATION_PRIOR_TOTAL);
}
