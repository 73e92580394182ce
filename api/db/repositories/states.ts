export type JobStatusValue = "PENDING" | "MATCHED" | "RUNNING" | "VALIDATING" | "COMPLETED" | "FAILED" | "CANCELLED" | "EXPIRED";
export type AssignmentStatusValue = "ASSIGNED" | "RUNNING" | "COMPLETED" | "FAILED" | "EXPIRED" | "CANCELLED" | "REJECTED";

/**
 * A job's legal status changes, the one table every writer of `jobs.status` follows (the repositories check each
 * change against it, and each UPDATE names the states it leaves, so of two racing changes one wins).
 * PENDING: waiting for offers; MATCHED: every replica placed, none started; RUNNING: a replica started;
 * VALIDATING: a result is in, waiting for the other replicas; the last four are final.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatusValue, readonly JobStatusValue[]>> = {
  PENDING: ["MATCHED", "RUNNING", "VALIDATING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED"],
  MATCHED: ["PENDING", "RUNNING", "VALIDATING", "COMPLETED", "FAILED", "CANCELLED"],
  RUNNING: ["PENDING", "MATCHED", "VALIDATING", "COMPLETED", "FAILED", "CANCELLED"],
  VALIDATING: ["PENDING", "MATCHED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
  EXPIRED: [],
};

/** An assignment's legal status changes: ASSIGNED -> RUNNING -> an end; a COMPLETED result that lost the vote is REJECTED. */
export const ASSIGNMENT_TRANSITIONS: Readonly<Record<AssignmentStatusValue, readonly AssignmentStatusValue[]>> = {
  ASSIGNED: ["RUNNING", "FAILED", "EXPIRED", "CANCELLED"],
  RUNNING: ["COMPLETED", "FAILED", "EXPIRED", "CANCELLED"],
  COMPLETED: ["REJECTED"],
  FAILED: [],
  EXPIRED: [],
  CANCELLED: [],
  REJECTED: [],
};

export const FINAL_JOB_STATES: readonly JobStatusValue[] = (Object.keys(JOB_TRANSITIONS) as JobStatusValue[]).filter((s) => JOB_TRANSITIONS[s].length === 0);
export const LIVE_ASSIGNMENT_STATES: readonly AssignmentStatusValue[] = ["ASSIGNED", "RUNNING"];

/** The states a job may move to `to` from (the WHERE of a conditional update). */
export function jobStatesInto(to: JobStatusValue): JobStatusValue[] {
  return (Object.keys(JOB_TRANSITIONS) as JobStatusValue[]).filter((from) => JOB_TRANSITIONS[from].includes(to));
}

/** The states an assignment may move to `to` from. */
export function assignmentStatesInto(to: AssignmentStatusValue): AssignmentStatusValue[] {
  return (Object.keys(ASSIGNMENT_TRANSITIONS) as AssignmentStatusValue[]).filter((from) => ASSIGNMENT_TRANSITIONS[from].includes(to));
}

/** Throws (a bug, not a client's error) when a writer asks for a change the table does not allow. */
export function assertJobMove(from: readonly JobStatusValue[], to: JobStatusValue): void {
  const illegal = from.filter((f) => f !== to && !JOB_TRANSITIONS[f].includes(to));
  if (illegal.length > 0) throw new Error(`illegal job transition ${illegal.join("|")} -> ${to}`);
}

export function assertAssignmentMove(from: readonly AssignmentStatusValue[], to: AssignmentStatusValue): void {
  const illegal = from.filter((f) => !ASSIGNMENT_TRANSITIONS[f].includes(to));
  if (illegal.length > 0) throw new Error(`illegal assignment transition ${illegal.join("|")} -> ${to}`);
}
