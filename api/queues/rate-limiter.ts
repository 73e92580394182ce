import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (when refused). */
  retryAfterSeconds: number;
}

/** Counts requests per key in fixed windows. */
export interface RateLimiter {
  hit(key: string): Promise<RateDecision>;
}

/**
 * Fixed-window counting in Redis (INCR and PEXPIRE in one round trip), so every API instance shares the counts.
 * `limit` requests per `windowMs` per key. If Redis cannot answer, requests are let through (availability over
 * strictness: the database is the truth, the limit a protection).
 */
export function redisRateLimiter(redis: Redis, prefix: string, limit: number, windowMs: number): RateLimiter {
  return {
    async hit(key) {
      const window = Math.floor(Date.now() / windowMs);
      const name = `${prefix}:rl:${key}:${window}`;
      try {
        const [[, count]] = (await redis.multi().incr(name).pexpire(name, windowMs * 2).exec()) as [[Error | null, number]];
        if (count <= limit) return { allowed: true, retryAfterSeconds: 0 };
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - Date.now()) / 1000)) };
      } catch {
        return { allowed: true, retryAfterSeconds: 0 };
      }
    },
  };
}
