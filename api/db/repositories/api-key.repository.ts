import type { EntityManager } from "typeorm";
import { ApiKeyEntity } from "../entities/api-key.entity";

type Db = Pick<EntityManager, "query">;
type Orm = Pick<EntityManager, "getRepository">;

/** A live (unrevoked) API key found by its secret's hash, with its account's address. */
export interface LiveApiKeyRow {
  id: string;
  account_id: string;
  address: string;
}

/** How many live (unrevoked) API keys an account holds. */
export async function countLiveApiKeys(tx: Db, accountId: string): Promise<number> {
  const live = await tx.query(`SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL`, [accountId]);
  return live[0].n;
}

/** Stores a new API key (its secret hashed, never used, not revoked) and gives it back as saved. */
export async function insertApiKey(tx: Orm, key: { accountId: string; name: string; prefix: string; secretHash: string }): Promise<ApiKeyEntity> {
  return tx.getRepository(ApiKeyEntity).save(
    tx.getRepository(ApiKeyEntity).create({ accountId: key.accountId, name: key.name, prefix: key.prefix, secretHash: key.secretHash, lastUsedAt: null, revokedAt: null }),
  );
}

/** An API key by id, or null. */
export async function apiKeyById(db: Orm, id: string): Promise<ApiKeyEntity | null> {
  return db.getRepository(ApiKeyEntity).findOneBy({ id });
}

/** An API key by id, failing (EntityNotFoundError) when there is none. */
export async function apiKeyByIdOrFail(db: Orm, id: string): Promise<ApiKeyEntity> {
  return db.getRepository(ApiKeyEntity).findOneByOrFail({ id });
}

/** Revokes an API key now, keeping the time of an earlier revocation. */
export async function revokeApiKey(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, [id]);
}

/** An account's API keys, newest first, revoked ones included. */
export async function apiKeysOfAccount(db: Orm, accountId: string): Promise<ApiKeyEntity[]> {
  return db.getRepository(ApiKeyEntity).find({ where: { accountId }, order: { createdAt: "DESC" } });
}

/** The live API key whose secret hashes to `secretHash`, with its account's address, if any. */
export async function liveApiKeyBySecretHash(db: Db, secretHash: string): Promise<LiveApiKeyRow | undefined> {
  const rows: LiveApiKeyRow[] = await db.query(
    `SELECT k.id, k.account_id, a.address FROM api_keys k JOIN accounts a ON a.id = k.account_id
        WHERE k.secret_hash = $1 AND k.revoked_at IS NULL`,
    [secretHash],
  );
  return rows[0];
}

/** Records an API key's use now, at most once a minute (a key's last use is approximate). */
export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`, [id]);
}
