import type { EntityManager } from "typeorm";
import type { LevelChange } from "../db/repositories/book.repository";
import { releaseHold } from "../db/repositories/escrow.repository";
import { jobById, moveJob, type JobRecord } from "../db/repositories/job.repository";
import { assignmentsOfJob, chargeAssignment, countOutcome, endAssignment, recordJobEvent, rejectAssignment } from "../db/repositories/lifecycle.repository";
import { jobStatesInto } from "../db/repositories/states";
import { resultUriOf } from "../db/repositories/assignment.repository";
import { decideJob } from "./job-decision";
import { decideSlash } from "./slashing";

export interface Concluded {
  changes: LevelChange[];
  /** The job is PENDING again: queue it for matching after commit. */
  requeue: boolean;
}

/**
 * Applies `decideJob` to a job in the caller's transaction (the job row locked by the caller): completing charges
 * the winners at the trade price for their run time and releases the hold, rejects the losing results (with the
 * slashing rule), fails with the hold released, or moves the job to the status its assignments add up to.
 */
export async function concludeJob(tx: EntityManager, jobId: string, maxAttempts: number, now: Date, freed: string[]): Promise<Concluded> {
  const job = await jobById(tx, jobId, true);
  if (!job) return { changes: [], requeue: false };
  const all = await assignmentsOfJob(tx, jobId);
  const decision = decideJob(job, all, maxAttempts);
  const changes: LevelChange[] = [];
  const cancel = async (ids: readonly string[]) => {
    for (const a of all.filter((x) => ids.includes(x.id))) {
      const ended = await endAssignment(tx, a, "CANCELLED", { reason: "the job ended" }, now, freed);
      if (ended?.change) changes.push(ended.change);
    }
  };
  switch (decision.kind) {
    case "none":
      return { changes, requeue: false };
    case "complete": {
      for (const id of decision.rejected) {
        const a = all.find((x) => x.id === id)!;
        if (!(await rejectAssignment(tx, id))) continue;
        await countOutcome(tx, a.providerId, "rejected_jobs");
        await decideSlash(tx, a.providerId, job.id, now);
      }
      let total = 0n;
      const winners = all.filter((a) => decision.winners.includes(a.id));
      for (const a of winners) {
        total += await chargeAssignment(tx, job, a, a.endedAt ?? now);
        await countOutcome(tx, a.providerId, "completed_jobs");
      }
      await releaseHold(tx, job.clientId, job.holdWei, total);
      const resultUri = await resultUriOf(tx, winners[0].id);
      await moveJob(tx, job.id, jobStatesInto("COMPLETED"), "COMPLETED", {
        resting: false,
        progress: 1,
        resultHash: decision.resultHash,
        resultUri,
        agreedBy: winners.length,
        costWei: total,
        statusMessage: `completed: ${winners.length} of ${job.redundancy} agree`,
        endedAt: now,
      });
      await recordJobEvent(tx, { jobId: job.id, progress: 1, message: "completed", assignmentId: winners[0].id, status: "COMPLETED" }, now);
      return { changes, requeue: false };
    }
    case "fail": {
      await cancel(decision.cancel);
      let message = `no majority: the ${all.filter((a) => a.status === "COMPLETED").length} results disagree`;
      if (decision.reason === "attempts") {
        const last = all.filter((a) => a.replica === decision.exhaustedReplica).at(-1)!;
        message = `failed after ${maxAttempts} attempts: ${last.failReason ?? last.status}`;
      }
      await failJob(tx, job, message, now);
      return { changes, requeue: false };
    }
    case "continue": {
      if (decision.status !== job.status) {
        await moveJob(tx, job.id, [job.status], decision.status, { resting: false });
        const message = decision.status === "PENDING" ? "taken back: matching again" : decision.status.toLowerCase();
        await recordJobEvent(tx, { jobId: job.id, progress: job.progress, message, assignmentId: null, status: decision.status }, now);
      }
      return { changes, requeue: decision.status === "PENDING" };
    }
  }
}

/**
 * Ends a job that has not ended and has nothing to charge: FAILED, or CANCELLED (an immediate-or-cancel job no
 * offer could fill), its hold released, nothing spent. False when the job had already moved on.
 */
export async function failJob(tx: EntityManager, job: JobRecord, message: string, now: Date, status: "FAILED" | "CANCELLED" = "FAILED"): Promise<boolean> {
  if (!(await moveJob(tx, job.id, jobStatesInto(status), status, { resting: false, statusMessage: message.slice(0, 500), endedAt: now }))) return false;
  await releaseHold(tx, job.clientId, job.holdWei, 0n);
  await recordJobEvent(tx, { jobId: job.id, progress: job.progress, message, assignmentId: null, status }, now);
  return true;
}
