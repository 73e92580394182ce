import type { DataSource } from "typeorm";

/** An account as reputation needs it: its address, outcome counters and stake. */
export interface AccountRow {
  id: string;
  address: string;
  completed_jobs: number;
  failed_jobs: number;
  expired_jobs: number;
  rejected_jobs: number;
  staked_wei: string;
}

export async function accountsByIds(db: DataSource, ids: readonly string[]): Promise<AccountRow[]> {
  return db.query(
    `SELECT a.id, a.address, a.completed_jobs, a.failed_jobs, a.expired_jobs, a.rejected_jobs, coalesce(s.staked_wei, 0)::text AS staked_wei
       FROM accounts a LEFT JOIN stakes s ON s.account_id = a.id WHERE a.id = ANY($1::uuid[])`,
    [ids],
  );
}
