import type { DataSource } from "typeorm";
import type { ApiKeyEntity } from "../db/entities/api-key.entity";
import { lockAccount } from "../db/repositories/account.repository";
import { apiKeyById, apiKeyByIdOrFail, apiKeysOfAccount, countLiveApiKeys, insertApiKey, revokeApiKey } from "../db/repositories/api-key.repository";
import { newApiKeySecret, hashSecret } from "./auth.service";
import { badInput, conflict, forbidden, notFound } from "./errors";
import { assertId, requirePrincipal, type Principal } from "./principal";

/** Most live (unrevoked) keys one account may hold. */
export const MAX_LIVE_API_KEYS = 50;

/** API keys: created with a secret shown once, stored hashed, listed, revoked. */
export class ApiKeyService {
  constructor(private readonly db: DataSource) {}

  async create(principal: Principal | undefined, rawName: string): Promise<{ apiKey: ApiKeyEntity; secret: string }> {
    const who = requirePrincipal(principal);
    // a key that leaked (an agent's machine) must not mint keys that outlive its revocation: keys come from sessions
    if (who.via === "apiKey") throw forbidden("API keys are created with a wallet session (signIn), not with an API key");
    const name = rawName.trim();
    if (name.length < 1 || name.length > 100) throw badInput("an API key's name must be 1 to 100 characters");
    return this.db.transaction(async (tx) => {
      await lockAccount(tx, who.accountId);
      const live = await countLiveApiKeys(tx, who.accountId);
      if (live >= MAX_LIVE_API_KEYS) throw conflict(`an account may hold ${MAX_LIVE_API_KEYS} live API keys; revoke one first`);
      const { secret, prefix } = newApiKeySecret();
      const apiKey = await insertApiKey(tx, { accountId: who.accountId, name, prefix, secretHash: hashSecret(secret) });
      return { apiKey, secret };
    });
  }

  /** Revokes one of the caller's keys; revoking a revoked key returns it unchanged. */
  async revoke(principal: Principal | undefined, id: string): Promise<ApiKeyEntity> {
    const who = requirePrincipal(principal);
    assertId("API key", id);
    const key = await apiKeyById(this.db, id);
    if (!key) throw notFound("API key", id);
    if (key.accountId !== who.accountId) throw forbidden("this API key belongs to another account");
    if (who.via === "apiKey" && who.apiKeyId !== id) throw forbidden("an API key may revoke only itself; revoke other keys with a wallet session");
    if (key.revokedAt) return key;
    await revokeApiKey(this.db, id);
    return apiKeyByIdOrFail(this.db, id);
  }

  /** The caller's keys, newest first, revoked ones included. */
  async list(principal: Principal | undefined): Promise<ApiKeyEntity[]> {
    const who = requirePrincipal(principal);
    return apiKeysOfAccount(this.db, who.accountId);
  }
}
