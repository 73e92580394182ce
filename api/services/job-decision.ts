import type { AssignmentStatusValue, JobStatusValue } from "../db/repositories/job.repository";
import { FINAL_JOB_STATES, LIVE_ASSIGNMENT_STATES } from "../db/repositories/states";

/** What the decision needs of an assignment. */
export interface VotingAssignment {
  id: string;
  replica: number;
  status: AssignmentStatusValue;
  resultHash: string | null;
}

export interface JobForDecision {
  status: JobStatusValue;
  redundancy: number;
}

export type JobDecision =
  /** The job is over already: nothing changes (so concluding again never charges twice). */
  | { kind: "none" }
  /** A strict majority agrees and no replica is still working: the winners are charged, the other results rejected. */
  | { kind: "complete"; resultHash: string; winners: string[]; rejected: string[] }
  /** The job fails: `cancel` are the live assignments to stop; `lastOfReplica` names the replica out of attempts. */
  | { kind: "fail"; reason: "no-majority" | "attempts"; cancel: string[]; exhaustedReplica?: number }
  /** The job goes on in `status` (PENDING: replicas are missing and go back to matching). */
  | { kind: "continue"; status: JobStatusValue; missingReplicas: number[] };

/**
 * Decides what a job's assignments add up to after one of them ended (pure). Once no replica is still working, a
 * strict majority of the `redundancy` replicas with one result hash completes the job, and the other results are
 * rejected; as many results as replicas without a majority fail it. A replica with no live or completed
 * assignment is missing: it goes back to matching, unless it has used `maxAttempts` attempts (cancelled ones do
 * not count), which fails the job and stops the live work.
 */
export function decideJob(job: JobForDecision, assignments: readonly VotingAssignment[], maxAttempts: number): JobDecision {
  if (FINAL_JOB_STATES.includes(job.status)) return { kind: "none" };
  const completed = assignments.filter((a) => a.status === "COMPLETED" && a.resultHash !== null);
  const live = assignments.filter((a) => LIVE_ASSIGNMENT_STATES.includes(a.status));
  const votes = new Map<string, string[]>();
  for (const a of completed) votes.set(a.resultHash!, [...(votes.get(a.resultHash!) ?? []), a.id]);
  const winner = [...votes.entries()].find(([, voters]) => voters.length * 2 > job.redundancy);
  if (winner && live.length === 0) {
    const [resultHash, winners] = winner;
    return { kind: "complete", resultHash, winners, rejected: completed.filter((a) => a.resultHash !== resultHash).map((a) => a.id) };
  }
  if (completed.length >= job.redundancy) return { kind: "fail", reason: "no-majority", cancel: live.map((a) => a.id) };
  const holding = new Set([...live, ...completed].map((a) => a.replica));
  const missingReplicas = [...Array(job.redundancy).keys()].filter((r) => !holding.has(r));
  const exhausted = missingReplicas.find((r) => assignments.filter((a) => a.replica === r && a.status !== "CANCELLED").length >= maxAttempts);
  if (exhausted !== undefined) return { kind: "fail", reason: "attempts", cancel: live.map((a) => a.id), exhaustedReplica: exhausted };
  let status: JobStatusValue = "MATCHED";
  if (missingReplicas.length > 0) status = "PENDING";
  else if (completed.length > 0) status = "VALIDATING";
  else if (live.some((a) => a.status === "RUNNING")) status = "RUNNING";
  return { kind: "continue", status, missingReplicas };
}
