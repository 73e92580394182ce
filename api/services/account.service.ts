import { getAddress } from "ethers";
import type { DataSource } from "typeorm";
import { reputationOf } from "../../matching";

export interface ReputationView {
  /** reputationOf (matching/reputation.ts): a Beta prior over the provider's outcomes and stake, 0.5 for newcomers. */
  score: number;
  completedJobs: number;
  failedJobs: number;
  expiredJobs: number;
  rejectedJobs: number;
}

export interface AccountView {
  id: string;
  /** EIP-55 checksummed. */
  address: string;
  reputation: ReputationView;
}

/** Accounts by id, for loaders, with their reputation. */
export class AccountService {
  constructor(private readonly db: DataSource) {}

  async byIds(ids: readonly string[]): Promise<AccountView[]> {
    const rows: { id: string; address: string; completed_jobs: number; failed_jobs: number; expired_jobs: number; rejected_jobs: number; staked_wei: string }[] = await this.db.query(
      `SELECT a.id, a.address, a.completed_jobs, a.failed_jobs, a.expired_jobs, a.rejected_jobs, coalesce(s.staked_wei, 0) AS staked_wei
         FROM accounts a LEFT JOIN stakes s ON s.account_id = a.id WHERE a.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((a) => ({
      id: a.id,
      address: getAddress(a.address),
      reputation: {
        score: reputationOf({ completed: a.completed_jobs, failed: a.failed_jobs, expired: a.expired_jobs, rejected: a.rejected_jobs, stakedWei: BigInt(a.staked_wei) }),
        completedJobs: a.completed_jobs,
        failedJobs: a.failed_jobs,
        expiredJobs: a.expired_jobs,
        rejectedJobs: a.rejected_jobs,
      },
    }));
  }
}
