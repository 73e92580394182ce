import { createHash } from "node:crypto";
import type { RequestHandler } from "express";

export interface RateLimiterPort {
  hit(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

/**
 * Limits requests per principal: the bearer credential (hashed, never stored) when there is one, else the client
 * address. Over the limit: 429 with Retry-After, and a GraphQL-shaped error with code RATE_LIMITED (the relay
 * answers its own error shape with the same code).
 */
export function rateLimit(limiter: RateLimiterPort, shape: "graphql" | "relay"): RequestHandler {
  return async (req, res, next) => {
    const auth = req.headers.authorization;
    const key = auth ? `k:${createHash("sha256").update(auth).digest("hex").slice(0, 32)}` : `ip:${req.ip ?? req.socket.remoteAddress ?? "?"}`;
    const decision = await limiter.hit(key);
    if (decision.allowed) return next();
    res.setHeader("Retry-After", String(decision.retryAfterSeconds));
    const message = `too many requests; try again in ${decision.retryAfterSeconds} s`;
    res.status(429).json(shape === "graphql" ? { errors: [{ message, extensions: { code: "RATE_LIMITED" } }] } : { error: { code: "RATE_LIMITED", message } });
  };
}
