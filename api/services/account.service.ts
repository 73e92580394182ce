import { getAddress } from "ethers";
import type { DataSource } from "typeorm";
import { AccountEntity } from "../db/entities/account.entity";

export interface AccountView {
  id: string;
  /** EIP-55 checksummed. */
  address: string;
}

/** Accounts by id, for loaders. */
export class AccountService {
  constructor(private readonly db: DataSource) {}

  async byIds(ids: readonly string[]): Promise<AccountView[]> {
    const rows = await this.db.getRepository(AccountEntity).createQueryBuilder("a").where("a.id IN (:...ids)", { ids }).getMany();
    return rows.map((a) => ({ id: a.id, address: getAddress(a.address) }));
  }
}
