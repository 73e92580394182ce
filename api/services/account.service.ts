import { getAddress } from "ethers";
import type { DataSource } from "typeorm";
import { reputationOf } from "../../matching";

export interface ReputationView {
  /** reputationOf (matching/reputation.ts): a Beta prior over the provider's outcomes, 0.5 for newcomers. */
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
    const rows: { id: string; address: string; completed_jobs: number; failed_jobs: number; expired_jobs: number; rejected_jobs: number }[] = await this.db.query(
      `SELECT id, address, completed_jobs, failed_jobs, expired_jobs, rejected_jobs FROM accounts WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((a) => ({
      id: a.id,
      address: getAddress(a.address),
      reputation: {
        score: reputationOf({ completed: a.completed_jobs, failed: a.failed_jobs, expired: a.expired_jobs, rejected: a.rejected_jobs }),
        completedJobs: a.completed_jobs,
        failedJobs: a.failed_jobs,
        expiredJobs: a.expired_jobs,
        rejectedJobs: a.rejected_jobs,
      },
    }));
  }
}
