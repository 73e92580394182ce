import { getAddress } from "ethers";
import type { DataSource } from "typeorm";
import { reputationOf } from "../../matching";
import { accountsByIds, type AccountRow } from "../db/repositories/account.repository";

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
    return (await accountsByIds(this.db, ids)).map(accountViewOf);
  }
}

/** An account's view from its row: the checksummed address and the reputation of its counters and stake. */
export function accountViewOf(a: AccountRow): AccountView {
  return {
    id: a.id,
    address: getAddress(a.address),
    reputation: {
      score: reputationOf({ completed: a.completed_jobs, failed: a.failed_jobs, expired: a.expired_jobs, rejected: a.rejected_jobs, stakedWei: BigInt(a.staked_wei) }),
      completedJobs: a.completed_jobs,
      failedJobs: a.failed_jobs,
      expiredJobs: a.expired_jobs,
      rejectedJobs: a.rejected_jobs,
    },
  };
}
