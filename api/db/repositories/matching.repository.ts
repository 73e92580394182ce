import type { EntityManager } from "typeorm";
import type { Exclusion } from "../../../matching";
import type { JobStatusValue } from "./job.repository";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** A job a placement moved off PENDING, as its UPDATE ... RETURNING gives it. */
export interface MatchedJobRow {
  id: string;
  status: JobStatusValue;
  progress: number;
}

/** Locks those of `jobIds` that are PENDING and that no other transaction holds (FOR UPDATE SKIP LOCKED, by id); their ids. */
export async function lockPendingJobs(tx: Db, jobIds: readonly string[]): Promise<string[]> {
  const lockedRows: { id: string }[] = await tx.query(`SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'PENDING' ORDER BY id FOR UPDATE SKIP LOCKED`, [jobIds]);
  return lockedRows.map((r) => r.id);
}

/** Opens the savepoint a job's replica claims roll back to when the job cannot get them all. */
export async function savepointReplicaClaims(tx: Db): Promise<void> {
  await tx.query("SAVEPOINT replica_claims");
}

/** Rolls a job's replica claims back to {@link savepointReplicaClaims}. */
export async function rollbackReplicaClaims(tx: Db): Promise<void> {
  await tx.query("ROLLBACK TO SAVEPOINT replica_claims");
}

/**
 * Marks the PENDING ones of `jobIds` placed: RUNNING when a replica already runs, else MATCHED; no longer resting, no
 * exclusions, matched (first at `now`) and attempted at `now`. Returns the jobs it changed.
 */
export async function markJobsMatched(tx: Db, jobIds: readonly string[], now: Date): Promise<MatchedJobRow[]> {
  return updateReturning<MatchedJobRow>(
    tx,
    `UPDATE jobs SET status = CASE WHEN EXISTS (SELECT 1 FROM assignments a WHERE a.job_id = jobs.id AND a.status = 'RUNNING') THEN 'RUNNING' ELSE 'MATCHED' END,
                resting = false, excluded = NULL, matched_at = coalesce(matched_at, $2), match_attempted_at = $2, updated_at = now()
          WHERE id = ANY($1::uuid[]) AND status = 'PENDING' RETURNING id, status, progress`,
    [jobIds, now],
  );
}

/** Records a placement attempt that could not fill a job: its exclusions and when it was tried. */
export async function recordUnfilledAttempt(tx: Db, jobId: string, excluded: readonly Exclusion[], now: Date): Promise<void> {
  await tx.query(`UPDATE jobs SET excluded = $2, match_attempted_at = $3 WHERE id = $1`, [jobId, JSON.stringify(excluded), now]);
}

/** Puts a job on the bid side (resting) with its exclusions and when it was tried. */
export async function restJob(tx: Db, jobId: string, excluded: readonly Exclusion[], now: Date): Promise<void> {
  await tx.query(`UPDATE jobs SET resting = true, excluded = $2, match_attempted_at = $3, updated_at = now() WHERE id = $1`, [jobId, JSON.stringify(excluded), now]);
}
