import { createHash, randomBytes } from "node:crypto";
import { getAddress, isAddress } from "ethers";
import { jwtVerify, SignJWT } from "jose";
import { SiweMessage, generateNonce } from "siwe";
import { verifyMessage } from "ethers";
import type { DataSource } from "typeorm";
import { AccountEntity } from "../db/entities/account.entity";
import { AuthNonceEntity } from "../db/entities/auth-nonce.entity";
import { updateReturning } from "../db/query";
import { badInput, ServiceError } from "./errors";
import type { Principal } from "./principal";

export interface AuthSettings {
  publicUrl: string;
  chainId: bigint;
  jwtSecret: string;
  sessionTtlSeconds: number;
  challengeTtlSeconds: number;
}

export interface Challenge {
  message: string;
  nonce: string;
  expiresAt: Date;
}

export interface Session {
  token: string;
  address: string;
  expiresAt: Date;
}

/** Prefix of every API key secret; a bearer token without it is a session token. */
export const API_KEY_PREFIX = "gx_";
const unauthenticated = (message: string) => new ServiceError("UNAUTHENTICATED", message);

/** Wallet sign-in (EIP-4361), session tokens, and resolving a bearer credential to a principal. */
export class AuthService {
  private readonly key: Uint8Array;
  private readonly domain: string;

  constructor(
    private readonly db: DataSource,
    private readonly settings: AuthSettings,
  ) {
    this.key = new TextEncoder().encode(settings.jwtSecret);
    this.domain = new URL(settings.publicUrl).host;
  }

  /** Issues an EIP-4361 message for `address` with a fresh single-use nonce. */
  async challenge(address: string, chainId: bigint | undefined, now = new Date()): Promise<Challenge> {
    if (!isAddress(address)) throw badInput(`"${String(address).slice(0, 64)}" is not an Ethereum address (0x and 40 hex digits)`);
    const chain = chainId ?? this.settings.chainId;
    if (chain !== this.settings.chainId) {
      throw badInput(`this marketplace signs in on chain ${this.settings.chainId}, not ${chain}; switch the wallet's network`);
    }
    const nonce = generateNonce();
    const expiresAt = new Date(now.getTime() + this.settings.challengeTtlSeconds * 1000);
    const message = new SiweMessage({
      domain: this.domain,
      address: getAddress(address),
      statement: "Sign in to gpu-exchange.",
      uri: this.settings.publicUrl,
      version: "1",
      chainId: Number(chain),
      nonce,
      issuedAt: now.toISOString(),
      expirationTime: expiresAt.toISOString(),
    }).prepareMessage();
    await this.db.getRepository(AuthNonceEntity).insert({
      nonce,
      address: address.toLowerCase(),
      chainId: chain,
      issuedAt: now,
      expiresAt,
      consumedAt: null,
    });
    return { message, nonce, expiresAt };
  }

  /**
   * Verifies a signed challenge: signature, our domain, a nonce we issued for this address and chain,
   * unused and unexpired. The nonce is consumed atomically, so a replay fails. Returns a session.
   */
  async signIn(messageText: string, signature: string, now = new Date()): Promise<Session> {
    let message: SiweMessage;
    try {
      message = new SiweMessage(messageText);
    } catch {
      throw badInput("message is not an EIP-4361 sign-in message; ask authChallenge for one and sign it unchanged");
    }
    if (message.domain !== this.domain) {
      throw unauthenticated(`this message is for ${message.domain.slice(0, 64)}, not ${this.domain}; ask this server for a challenge`);
    }
    if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw unauthenticated("the signature is not a 65-byte hex signature (personal_sign of the message)");
    // recovered here first: siwe writes a raw stack to stderr for a signature it cannot recover (anyone could flood the log)
    if (recoverSigner(message, signature) !== message.address.toLowerCase()) throw unauthenticated("the signature does not match the message and address");
    const verified = await message
      .verify({ signature, domain: this.domain, nonce: message.nonce, time: now.toISOString() }, { suppressExceptions: true })
      .catch(() => ({ success: false as const, error: undefined }));
    if (!verified.success) {
      const expired = message.expirationTime !== undefined && new Date(message.expirationTime) <= now;
      throw unauthenticated(expired ? "the challenge has expired; ask for a new one" : "the signature does not match the message and address");
    }
    const address = message.address.toLowerCase();
    const consumed = await updateReturning(
      this.db,
      `UPDATE auth_nonces SET consumed_at = $4
        WHERE nonce = $1 AND address = $2 AND chain_id = $3 AND consumed_at IS NULL AND expires_at > $4
        RETURNING nonce`,
      [message.nonce, address, BigInt(message.chainId).toString(), now],
    );
    if (consumed.length !== 1) throw unauthenticated("this challenge is unknown, already used or expired; ask for a new one");
    const account = await this.accountFor(address);
    const expiresAt = new Date(now.getTime() + this.settings.sessionTtlSeconds * 1000);
    const token = await new SignJWT({ addr: address })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(account.id)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
    return { token, address: getAddress(address), expiresAt };
  }

  /** Resolves `Authorization: Bearer <credential>` (the "Bearer " part optional) to a principal; UNAUTHENTICATED when invalid. */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (authorization === undefined || authorization.trim() === "") return undefined;
    const credential = authorization.replace(/^Bearer\s+/i, "").trim();
    if (credential.startsWith(API_KEY_PREFIX)) return this.authenticateApiKey(credential);
    try {
      const { payload } = await jwtVerify(credential, this.key, { algorithms: ["HS256"] });
      if (typeof payload.sub !== "string" || typeof payload.addr !== "string" || typeof payload.exp !== "number") throw new Error("claims");
      return { accountId: payload.sub, address: payload.addr, via: "session", expiresAt: new Date(payload.exp * 1000) };
    } catch {
      throw unauthenticated("the session token is invalid or expired; sign in again");
    }
  }

  private async authenticateApiKey(secret: string): Promise<Principal> {
    const rows: { id: string; account_id: string; address: string }[] = await this.db.query(
      `SELECT k.id, k.account_id, a.address FROM api_keys k JOIN accounts a ON a.id = k.account_id
        WHERE k.secret_hash = $1 AND k.revoked_at IS NULL`,
      [hashSecret(secret)],
    );
    if (rows.length === 0) throw unauthenticated("the API key is unknown or revoked");
    const key = rows[0];
    void this.db
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`, [key.id])
      .catch(() => undefined);
    return { accountId: key.account_id, address: key.address, via: "apiKey", apiKeyId: key.id };
  }

  private async accountFor(address: string): Promise<AccountEntity> {
    const repo = this.db.getRepository(AccountEntity);
    await repo.createQueryBuilder().insert().values({ address }).orIgnore().execute();
    return repo.findOneByOrFail({ address });
  }
}

/** sha256 hex of an API key secret: what is stored. Secrets carry 256 random bits, so a fast hash suffices. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A new API key secret and its displayed prefix: `gx_<8 hex>_<43 base64url chars>`. */
export function newApiKeySecret(): { secret: string; prefix: string } {
  const prefix = `${API_KEY_PREFIX}${randomBytes(4).toString("hex")}`;
  return { secret: `${prefix}_${randomBytes(32).toString("base64url")}`, prefix };
}


/** The address that signed a sign-in message (personal_sign), lowercased; undefined when no address can be recovered. */
function recoverSigner(message: SiweMessage, signature: string): string | undefined {
  try {
    return verifyMessage(message.prepareMessage(), signature).toLowerCase();
  } catch {
    return undefined;
  }
}
