import type { Principal } from "./principal";

/**
 * Who may see what of another party's records, as the resolvers ask it (a field that is null for others, not an error).
 * One place for the rules, tested beside them.
 */

/** A job seen through one of its assignments: its client, and the provider running that assignment. */
export function maySeeJobOfAssignment(principal: Principal | undefined, job: { clientId: string }, assignment: { providerId: string }): boolean {
  return principal !== undefined && (principal.accountId === job.clientId || principal.accountId === assignment.providerId);
}

/** The buying job of a trade: its client only (the market sees the trade, not whose job it was). */
export function maySeeJobOfTrade(principal: Principal | undefined, trade: { clientId: string }): boolean {
  return principal !== undefined && principal.accountId === trade.clientId;
}

/** Where an attempt resumes from (a signed download of the checkpoint): the provider running it only. */
export function maySeeResumePoint(principal: Principal | undefined, assignment: { providerId: string }): boolean {
  return principal !== undefined && principal.accountId === assignment.providerId;
}
