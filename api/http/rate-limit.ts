import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { clientAddress } from "./client-address";
import type { Principal } from "../services/principal";

export interface RateLimiterPort {
  hit(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

/** Whose allowance a request or WebSocket operation counts against: the account of a valid credential, else the address. */
export function rateLimitKey(principal: Principal | undefined, address: string | undefined): string {
  return principal ? `a:${principal.accountId}` : `ip:${address ?? "?"}`;
}

/** A request's client address (clientAddress with the deployment's trusted proxies). */
export type AddressOf = (req: IncomingMessage) => string | undefined;

/** Resolves a request's Authorization header; throws when the credential is not valid. */
export type Authenticate = (authorization: string | undefined) => Promise<Principal | undefined>;

/**
 * Limits requests per account: the account a valid credential (session or API key, however the header is spelled)
 * belongs to, else the client address (`addressOf`: the same rule as WebSocket limits), so neither a respelled header nor guessed keys get a fresh allowance. The
 * principal found is kept in `res.locals.principal` for the route. Over the limit: 429 with Retry-After, and a
 * GraphQL-shaped error with code RATE_LIMITED (the relay answers its own error shape with the same code).
 */
export function rateLimit(limiter: RateLimiterPort, shape: "graphql" | "relay", authenticate: Authenticate, addressOf: AddressOf = (req) => clientAddress(req, 0)): RequestHandler {
  return async (req, res, next) => {
    const principal = await authenticate(req.headers.authorization).catch(() => undefined);
    res.locals.principal = principal;
    const decision = await limiter.hit(rateLimitKey(principal, addressOf(req)));
    if (decision.allowed) return next();
    res.setHeader("Retry-After", String(decision.retryAfterSeconds));
    const message = `too many requests; try again in ${decision.retryAfterSeconds} s`;
    res.status(429).json(shape === "graphql" ? { errors: [{ message, extensions: { code: "RATE_LIMITED" } }] } : { error: { code: "RATE_LIMITED", message } });
  };
}

/** The principal the rate limiter found for this request, else the header resolved now (no limiter configured). */
export function principalOf(res: { locals: Record<string, unknown> }, authorization: string | undefined, authenticate: Authenticate): Promise<Principal | undefined> {
  const found = res.locals.principal as Principal | undefined;
  return found ? Promise.resolve(found) : authenticate(authorization);
}
