import type { EntityManager } from "typeorm";
import { AuthNonceEntity } from "../entities/auth-nonce.entity";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;
type Orm = Pick<EntityManager, "getRepository">;

/** Stores a sign-in challenge's nonce, unused. */
export async function insertAuthNonce(db: Orm, n: Pick<AuthNonceEntity, "nonce" | "address" | "chainId" | "issuedAt" | "expiresAt">): Promise<void> {
  await db.getRepository(AuthNonceEntity).insert({
    nonce: n.nonce,
    address: n.address,
    chainId: n.chainId,
    issuedAt: n.issuedAt,
    expiresAt: n.expiresAt,
    consumedAt: null,
  });
}

/** A sign-in challenge by its nonce (used or not), if it was issued. */
export async function authNonce(db: Orm, nonce: string): Promise<AuthNonceEntity | undefined> {
  const [row] = await db.getRepository(AuthNonceEntity).findBy({ nonce });
  return row;
}

/**
 * Consumes a challenge's nonce at `now` if it was issued for this address and chain, is unused and unexpired;
 * how many it consumed (1 or 0).
 */
export async function consumeAuthNonce(db: Db, c: { nonce: string; address: string; chainId: string; now: Date }): Promise<number> {
  const consumed = await updateReturning(
    db,
    `UPDATE auth_nonces SET consumed_at = $4
        WHERE nonce = $1 AND address = $2 AND chain_id = $3 AND consumed_at IS NULL AND expires_at > $4
        RETURNING nonce`,
    [c.nonce, c.address, c.chainId, c.now],
  );
  return consumed.length;
}

/** Deletes sign-in challenges expired over an hour ago (the maintenance sweep). */
export async function deleteExpiredAuthNonces(db: Db): Promise<void> {
  await db.query(`DELETE FROM auth_nonces WHERE expires_at < now() - interval '1 hour'`);
}
