import type { EntityManager } from "typeorm";
import type { JobStatusValue } from "./states";

type Db = Pick<EntityManager, "query">;

/** A job's status; undefined when there is no such job. */
export async function jobStatus(db: Db, jobId: string): Promise<JobStatusValue | undefined> {
  const [job] = await db.query(`SELECT status FROM jobs WHERE id = $1`, [jobId]);
  return job?.status;
}

/** Whether account `accountId` ordered job `jobId` through the relay. */
export async function isRelayJobOf(db: Db, jobId: string, accountId: string): Promise<boolean> {
  const [relayed] = await db.query(`SELECT 1 FROM relay_jobs WHERE job_id = $1 AND account_id = $2`, [jobId, accountId]);
  return relayed !== undefined;
}

/** A job's env as stored (the job must exist): each variable's value, and whether it is secret. */
export async function jobEnv(db: Db, jobId: string): Promise<{ value: string; secret?: boolean }[] | null> {
  const [job] = await db.query(`SELECT env FROM jobs WHERE id = $1`, [jobId]);
  return job.env;
}
