import type { DataSource, EntityManager } from "typeorm";
import { AccountEntity } from "../entities/account.entity";

type Db = Pick<EntityManager, "query">;

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

/** The id of the account of a lower-case address, made on first sight. */
export async function upsertAccountId(db: Db, address: string): Promise<string> {
  const [acct] = await db.query(`INSERT INTO accounts (address) VALUES ($1) ON CONFLICT (address) DO UPDATE SET address = excluded.address RETURNING id`, [address]);
  return acct.id;
}

/** Locks an account's row until the caller's transaction ends (its API key issues and its input reservations against the quota queue on it). */
export async function lockAccount(tx: Db, accountId: string): Promise<void> {
  await tx.query(`SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, [accountId]);
}

/** The account of a lower-case address, inserted first when there is none. */
export async function ensureAccount(db: Pick<EntityManager, "getRepository">, address: string): Promise<AccountEntity> {
  const repo = db.getRepository(AccountEntity);
  await repo.createQueryBuilder().insert().values({ address }).orIgnore().execute();
  return repo.findOneByOrFail({ address });
}
