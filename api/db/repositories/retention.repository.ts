import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** How long things are kept (the sweep's rules). */
export interface RetentionRules {
  /** Outputs and logs of a job, after it ends. */
  resultRetentionMs: number;
  /** An input no live job uses, after its upload; and a reservation whose bytes never came. */
  unusedGraceMs: number;
  /** Whole checkpoints kept per replica while the job runs (older ones are released as new ones are stored). */
  checkpointsKept: number;
}

/**
 * Releases the records whose bytes are no longer needed (the record stays, with `purged_at` and its hashes; the bytes
 * go when no live record names their blob): outputs of a job ended longer ago than the retention, and at once those
 * of replicas that did not win; inputs no running job uses, past the grace; reservations never uploaded; checkpoints
 * of ended jobs, and all but the newest few of each replica. Log lines of long-ended jobs are deleted. Returns counts.
 */
export async function releaseExpired(db: Db, rules: RetentionRules, now: Date, limit = 1000): Promise<Record<string, number>> {
  const retentionCut = new Date(now.getTime() - rules.resultRetentionMs);
  const graceCut = new Date(now.getTime() - rules.unusedGraceMs);
  const outputs = await updateReturning(
    db,
    `UPDATE artifacts o SET purged_at = $3 WHERE o.id IN (
       SELECT o2.id FROM artifacts o2 JOIN jobs j ON j.id = o2.job_id JOIN assignments a ON a.id = o2.assignment_id
        WHERE o2.kind = 'OUTPUT' AND o2.purged_at IS NULL AND j.ended_at IS NOT NULL
          AND (j.ended_at < $1 OR a.status <> 'COMPLETED' OR a.result_hash IS DISTINCT FROM j.result_hash)
        LIMIT $2) RETURNING o.id`,
    [retentionCut, limit, now],
  );
  const inputs = await updateReturning(
    db,
    `UPDATE artifacts i SET purged_at = $3 WHERE i.id IN (
       SELECT i2.id FROM artifacts i2 WHERE i2.kind = 'INPUT' AND i2.purged_at IS NULL AND i2.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM job_inputs ji JOIN jobs j ON j.id = ji.job_id WHERE ji.artifact_id = i2.id AND j.ended_at IS NULL)
        LIMIT $2 FOR UPDATE OF i2 SKIP LOCKED) RETURNING i.id`,
    [graceCut, limit, now],
  );
  const unfinished = await updateReturning(
    db,
    `UPDATE artifacts SET purged_at = $3 WHERE id IN (SELECT id FROM artifacts WHERE stored_at IS NULL AND purged_at IS NULL AND created_at < $1 LIMIT $2) RETURNING id`,
    [graceCut, limit, now],
  );
  const checkpoints = await updateReturning(
    db,
    `UPDATE checkpoints c SET purged_at = $3 WHERE c.id IN (
       SELECT c2.id FROM checkpoints c2 JOIN jobs j ON j.id = c2.job_id
        WHERE c2.purged_at IS NULL AND (j.ended_at IS NOT NULL OR (c2.stored_at IS NULL AND c2.created_at < $4) OR c2.stored_at IS NOT NULL AND (
          SELECT count(*) FROM checkpoints n WHERE n.job_id = c2.job_id AND n.replica = c2.replica AND n.stored_at IS NOT NULL AND n.purged_at IS NULL
             AND (n.step, n.stored_at) > (c2.step, c2.stored_at)) >= $1)
        LIMIT $2) RETURNING c.id`,
    [rules.checkpointsKept, limit, now, graceCut],
  );
  const logs = await updateReturning(
    db,
    `DELETE FROM job_logs WHERE (job_id, seq) IN (
       SELECT l.job_id, l.seq FROM job_logs l JOIN jobs j ON j.id = l.job_id WHERE j.ended_at < $1 LIMIT $2 * 10) RETURNING seq`,
    [retentionCut, limit],
  );
  return { outputs: outputs.length, inputs: inputs.length, unfinished: unfinished.length, checkpoints: checkpoints.length, logLines: logs.length };
}

/**
 * Blobs no live record names, untouched for the grace (a reservation touches its blob, so one being uploaded is never
 * taken), locked for their deletion: the caller deletes each one's bytes, then its row, in the same transaction, so a
 * new reservation of the same blob waits and then writes the bytes again.
 */
export async function lockOrphanBlobs(tx: Db, touchedBefore: Date, limit: number): Promise<string[]> {
  const rows = await tx.query(
    `SELECT b.sha256 FROM blobs b
      WHERE b.touched_at < $1
        AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = b.sha256 AND a.purged_at IS NULL)
        AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.sha256 = b.sha256 AND c.purged_at IS NULL)
      ORDER BY b.touched_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [touchedBefore, limit],
  );
  return rows.map((r: { sha256: string }) => r.sha256.trim());
}

export async function deleteBlobRow(tx: Db, sha256: string): Promise<void> {
  await tx.query(`DELETE FROM blobs WHERE sha256 = $1`, [sha256]);
}
