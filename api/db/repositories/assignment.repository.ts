import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";
import { toAssignmentRecord, type AssignmentRecord } from "./job.repository";
import type { AssignmentStatusValue } from "./states";

type Db = Pick<EntityManager, "query">;

/** The account that registered a node; undefined when there is no such node. */
export async function nodeProviderId(db: Db, nodeId: string): Promise<{ providerId: string } | undefined> {
  const [node] = await db.query(`SELECT provider_id FROM nodes WHERE id = $1`, [nodeId]);
  return node ? { providerId: node.provider_id } : undefined;
}

/** A node's first `first` assignments, oldest first (then by replica); of one status when `status` is given. */
export async function assignmentsOfNode(db: Db, nodeId: string, status: string | undefined, first: number): Promise<AssignmentRecord[]> {
  const rows = await db.query(
    `SELECT * FROM assignments WHERE node_id = $1 AND ($2::varchar IS NULL OR status = $2) ORDER BY created_at, replica LIMIT $3`,
    [nodeId, status ?? null, first],
  );
  return rows.map(toAssignmentRecord);
}

/** A job's stored progress (the job must exist). */
export async function jobProgress(tx: Db, jobId: string): Promise<number> {
  const [job] = await tx.query(`SELECT progress FROM jobs WHERE id = $1`, [jobId]);
  return job.progress;
}

/**
 * Sets a job's progress to the least of its placed replicas' (a completed one counts as 1) and its status message;
 * returns the new progress (the job must exist).
 */
export async function recomputeJobProgress(tx: Db, jobId: string, message: string | null): Promise<number> {
  const [job] = await updateReturning<{ progress: number }>(
    tx,
    `UPDATE jobs SET progress = (SELECT min(CASE WHEN status = 'COMPLETED' THEN 1 ELSE progress END) FROM assignments
                                   WHERE job_id = $1 AND status IN ('ASSIGNED', 'RUNNING', 'COMPLETED')),
                     status_message = $2, updated_at = now()
      WHERE id = $1 RETURNING progress`,
    [jobId, message],
  );
  return job.progress;
}

/** A node's last heartbeat; null when it never sent one or there is no such node. */
export async function nodeLastHeartbeat(tx: Db, nodeId: string): Promise<Date | null> {
  const [node] = await tx.query(`SELECT last_heartbeat_at FROM nodes WHERE id = $1`, [nodeId]);
  return node?.last_heartbeat_at ?? null;
}

/** The result URI an assignment reported (the assignment must exist). */
export async function resultUriOf(tx: Db, assignmentId: string): Promise<string | null> {
  const [uri] = await tx.query(`SELECT result_uri FROM assignments WHERE id = $1`, [assignmentId]);
  return uri.result_uri;
}

/** An assignment's job, provider and status, read without a lock; undefined when there is no such assignment. */
export async function assignmentAccess(db: Db, id: string): Promise<{ jobId: string; providerId: string; status: AssignmentStatusValue } | undefined> {
  const [a] = await db.query(`SELECT job_id, provider_id, status FROM assignments WHERE id = $1`, [id]);
  return a ? { jobId: a.job_id, providerId: a.provider_id, status: a.status } : undefined;
}

/** An assignment's provider and status; undefined when there is no such assignment. */
export async function assignmentOwnerStatus(db: Db, id: string): Promise<{ providerId: string; status: AssignmentStatusValue } | undefined> {
  const [a] = await db.query(`SELECT provider_id, status FROM assignments WHERE id = $1`, [id]);
  return a ? { providerId: a.provider_id, status: a.status } : undefined;
}
