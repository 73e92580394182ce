import { createHash, randomBytes } from "node:crypto";
import { getAddress, isAddress } from "ethers";
import { jwtVerify, SignJWT } from "jose";
import { SiweMessage, generateNonce } from "siwe";
import { verifyMessage } from "ethers";
import type { DataSource } from "typeorm";
import type { AccountEntity } from "../db/entities/account.entity";
import type { AuthNonceEntity } from "../db/entities/auth-nonce.entity";
import { ensureAccount } from "../db/repositories/account.repository";
import { liveApiKeyBySecretHash, touchApiKey } from "../db/repositories/api-key.repository";
import { authNonce, consumeAuthNonce, insertAuthNonce } from "../db/repositories/auth.repository";
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
    const message = this.issued({ nonce, address, chainId: chain, issuedAt: now, expiresAt }).prepareMessage();
    await insertAuthNonce(this.db, { nonce, address: address.toLowerCase(), chainId: chain, issuedAt: now, expiresAt });
    return { message, nonce, expiresAt };
  }

  /** The sign-in message a challenge is: everything but the nonce, address, chain and times is this server's. */
  private issued(c: Pick<AuthNonceEntity, "nonce" | "address" | "chainId" | "issuedAt" | "expiresAt">): SiweMessage {
    return new SiweMessage({
      domain: this.domain,
      address: getAddress(c.address),
      statement: SIGN_IN_STATEMENT,
      uri: this.settings.publicUrl,
      version: "1",
      chainId: Number(c.chainId),
      nonce: c.nonce,
      issuedAt: c.issuedAt.toISOString(),
      expirationTime: c.expiresAt.toISOString(),
    });
  }

  /**
   * Verifies a signed challenge: a signature in canonical form, our domain, a nonce we issued for this address and
   * chain, unused and unexpired, and the message exactly as that challenge was issued (URI, version, chain id,
   * statement, times; nothing added). The nonce is consumed atomically, so a replay fails; a refused message leaves
   * it unused. Returns a session.
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
    const uncanonical = nonCanonical(signature);
    if (uncanonical) throw unauthenticated(`the signature is not in canonical form: ${uncanonical}`);
    // recovered here first: siwe writes a raw stack to stderr for a signature it cannot recover (anyone could flood the log)
    if (recoverSigner(message, signature) !== message.address.toLowerCase()) throw unauthenticated("the signature does not match the message and address");
    if (message.expirationTime !== undefined && new Date(message.expirationTime) <= now) throw unauthenticated("the challenge has expired; ask for a new one");
    const row = await authNonce(this.db, message.nonce.slice(0, 64));
    if (!row || row.address !== message.address.toLowerCase()) throw unauthenticated("this challenge is unknown, already used or expired; ask for a new one");
    const differs = differenceFromChallenge(message, this.issued(row));
    if (differs) throw unauthenticated(`the message is not the challenge issued: ${differs}; sign the challenge unchanged`);
    const verified = await message
      .verify({ signature, domain: this.domain, nonce: message.nonce, time: now.toISOString() }, { suppressExceptions: true })
      .catch(() => ({ success: false as const, error: undefined }));
    if (!verified.success) {
      const expired = message.expirationTime !== undefined && new Date(message.expirationTime) <= now;
      throw unauthenticated(expired ? "the challenge has expired; ask for a new one" : "the signature does not match the message and address");
    }
    const address = message.address.toLowerCase();
    const consumed = await consumeAuthNonce(this.db, { nonce: message.nonce, address, chainId: BigInt(message.chainId).toString(), now });
    if (consumed !== 1) throw unauthenticated("this challenge is unknown, already used or expired; ask for a new one");
    const account = await this.accountFor(address);
    // the token's expiry is in whole seconds: the time told to the client is that one (it was up to 1 s later)
    const expSeconds = Math.floor(now.getTime() / 1000) + this.settings.sessionTtlSeconds;
    const expiresAt = new Date(expSeconds * 1000);
    const token = await new SignJWT({ addr: address })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(account.id)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(expSeconds)
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
    const key = await liveApiKeyBySecretHash(this.db, hashSecret(secret));
    if (!key) throw unauthenticated("the API key is unknown or revoked");
    void touchApiKey(this.db, key.id).catch(() => undefined);
    return { accountId: key.account_id, address: key.address, via: "apiKey", apiKeyId: key.id };
  }

  private async accountFor(address: string): Promise<AccountEntity> {
    return ensureAccount(this.db, address);
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


/** The statement of every sign-in message. */
const SIGN_IN_STATEMENT = "Sign in to gpu-exchange.";

/** secp256k1's group order, and its half: a canonical signature's s is at most the half (EIP-2). */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_ORDER = CURVE_ORDER >> 1n;

/**
 * Why a 65-byte signature r ‖ s ‖ v is not canonical, or undefined when it is: v is 27 or 28 (or 0 or 1, the
 * y-parity as some wallets give it), r and s are in [1, n) and s in the lower half of the curve order. Every other
 * spelling of a signature (v = 0xff, an EIP-155 v, s' = n - s) is refused rather than normalized.
 */
export function nonCanonical(signature: string): string | undefined {
  const hex = signature.slice(2);
  const r = BigInt(`0x${hex.slice(0, 64)}`);
  const s = BigInt(`0x${hex.slice(64, 128)}`);
  const v = Number.parseInt(hex.slice(128, 130), 16);
  if (![27, 28, 0, 1].includes(v)) return `v is ${v} (0x${hex.slice(128, 130)}); it must be 27 or 28 (or 0 or 1)`;
  if (r === 0n || r >= CURVE_ORDER) return "r is not in [1, n)";
  if (s === 0n || s > HALF_ORDER) return "s must be in the lower half of the curve order (EIP-2)";
  return undefined;
}

/** The first field in which a signed message differs from the challenge issued (its nonce), or undefined. */
function differenceFromChallenge(got: SiweMessage, issued: SiweMessage): string | undefined {
  const clip = (v: unknown) => JSON.stringify(v ?? null).slice(0, 80);
  const iso = (t: string | undefined) => (t && !Number.isNaN(new Date(t).getTime()) ? new Date(t).toISOString() : t);
  const fields: [string, unknown, unknown][] = [
    ["URI", got.uri, issued.uri],
    ["version", got.version, issued.version],
    ["chain id", Number(got.chainId), issued.chainId],
    ["domain", got.domain, issued.domain],
    ["statement", got.statement, issued.statement],
    ["issued-at time", iso(got.issuedAt), issued.issuedAt],
    ["expiration time", iso(got.expirationTime), issued.expirationTime],
    ["not-before time", got.notBefore, issued.notBefore],
    ["request id", got.requestId, issued.requestId],
    ["resources", got.resources?.length ? got.resources : undefined, issued.resources],
  ];
  for (const [name, value, expected] of fields) {
    if ((value ?? null) !== (expected ?? null) && JSON.stringify(value ?? null) !== JSON.stringify(expected ?? null)) return `its ${name} is ${clip(value)}, the challenge's ${clip(expected)}`;
  }
  if (got.prepareMessage() !== issued.prepareMessage()) return "its text differs";
  return undefined;
}

/** The address that signed a sign-in message (personal_sign), lowercased; undefined when no address can be recovered. */
function recoverSigner(message: SiweMessage, signature: string): string | undefined {
  try {
    return verifyMessage(message.prepareMessage(), signature).toLowerCase();
  } catch {
    return undefined;
  }
}
