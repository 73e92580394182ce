import type { DataSource } from "typeorm";
import { ApiKeyEntity } from "../db/entities/api-key.entity";
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
      await tx.query(`SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, [who.accountId]);
      const live = await tx.query(`SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL`, [who.accountId]);
      if (live[0].n >= MAX_LIVE_API_KEYS) throw conflict(`an account may hold ${MAX_LIVE_API_KEYS} live API keys; revoke one first`);
      const { secret, prefix } = newApiKeySecret();
      const apiKey = await tx.getRepository(ApiKeyEntity).save(
        tx.getRepository(ApiKeyEntity).create({ accountId: who.accountId, name, prefix, secretHash: hashSecret(secret), lastUsedAt: null, revokedAt: null }),
      );
      return { apiKey, secret };
    });
  }

  /** Revokes one of the caller's keys; revoking a revoked key returns it unchanged. */
  async revoke(principal: Principal | undefined, id: string): Promise<ApiKeyEntity> {
    const who = requirePrincipal(principal);
    assertId("API key", id);
    const repo = this.db.getRepository(ApiKeyEntity);
    const key = await repo.findOneBy({ id });
    if (!key) throw notFound("API key", id);
    if (key.accountId !== who.accountId) throw forbidden("this API key belongs to another account");
    if (who.via === "apiKey" && who.apiKeyId !== id) throw forbidden("an API key may revoke only itself; revoke other keys with a wallet session");
    if (key.revokedAt) return key;
    await this.db.query(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, [id]);
    return repo.findOneByOrFail({ id });
  }

  /** The caller's keys, newest first, revoked ones included. */
  async list(principal: Principal | undefined): Promise<ApiKeyEntity[]> {
    const who = requirePrincipal(principal);
    return this.db.getRepository(ApiKeyEntity).find({ where: { accountId: who.accountId }, order: { createdAt: "DESC" } });
  }
}
