import { MatchingError } from "./errors";

/** A provider's record: assignments completed, failed, expired (lease lapsed) and rejected (lost the result vote). */
export interface ReputationInput {
  completed: number;
  failed: number;
  expired: number;
  rejected: number;
}

/** Successes of the Beta prior: a newcomer counts as having completed 2 of {@link REPUTATION_PRIOR_TOTAL} assignments. */
export const REPUTATION_PRIOR_SUCCESSES = 2;
/** Assignments of the Beta prior: a newcomer's reputation is 2 / 4 = 0.5. */
export const REPUTATION_PRIOR_TOTAL = 4;
/** A rejected result counts this many times against a provider: returning wrong results is worse than failing. */
export const REJECTED_WEIGHT = 2;

/**
 * A provider's reputation in [0, 1], the mean of a Beta prior updated by its record:
 * (completed + 2) / (completed + failed + expired + 2 × rejected + 4). A newcomer has 0.5; completing work raises it
 * towards 1, failures, expiries and (doubly) rejections lower it towards 0. Non-decreasing in `completed`,
 * non-increasing in the others. Throws INVALID_HISTORY when a count is not a whole number ≥ 0.
 */
export function reputationOf(input: ReputationInput): number {
  for (const name of ["completed", "failed", "expired", "rejected"] as const) {
    const n = input[name];
    if (!Number.isSafeInteger(n) || n < 0) throw new MatchingError("INVALID_HISTORY", `${name} must be a whole number of zero or more, got ${n}`);
  }
  const { completed, failed, expired, rejected } = input;
  return (completed + REPUTATION_PRIOR_SUCCESSES) / (completed + failed + expired + REJECTED_WEIGHT * rejected + REPUTATION_PRIOR_TOTAL);
}
