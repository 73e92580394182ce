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

/** What the limiter reports while Redis cannot count (for a metric and the log). */
export interface RateLimiterEvents {
  /** Redis stopped answering: counting goes on per process. */
  degraded(err: unknown): void;
  /** Redis answers again: counts are shared again. */
  restored(): void;
}

/** Keys counted in memory at most; past it the oldest window's counts are dropped first. */
const LOCAL_MAX_KEYS = 100_000;

/**
 * Fixed-window counts in this process only: the fallback while Redis is down (each instance then allows up to the
 * limit on its own). Windows older than the current one are dropped.
 */
export function localRateLimiter(limit: number, windowMs: number, now: () => number = Date.now) {
  let window = -1;
  const counts = new Map<string, number>();
  return {
    hit(key: string): RateDecision {
      const t = now();
      const current = Math.floor(t / windowMs);
      if (current !== window) {
        counts.clear();
        window = current;
      }
      const count = (counts.get(key) ?? 0) + 1;
      if (counts.size < LOCAL_MAX_KEYS || counts.has(key)) counts.set(key, count);
      if (count <= limit) return { allowed: true, retryAfterSeconds: 0 };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((current + 1) * windowMs - t) / 1000)) };
    },
  };
}

/**
 * Fixed-window counting in Redis (INCR and PEXPIRE in one round trip), so every API instance shares the counts.
 * `limit` requests per `windowMs` per key. `redis` must fail fast when it cannot answer (no offline queue, a command
 * timeout): then the limiter falls back to counting in this process, says so through `events`, and goes back to
 * Redis once it answers. A request never waits on a Redis that is down.
 */
export function redisRateLimiter(redis: Redis, prefix: string, limit: number, windowMs: number, events?: RateLimiterEvents, now: () => number = Date.now): RateLimiter {
  const local = localRateLimiter(limit, windowMs, now);
  let degraded = false;
  return {
    async hit(key) {
      const t = now();
      const window = Math.floor(t / windowMs);
      const name = `${prefix}:rl:${key}:${window}`;
      try {
        const replies = (await redis.multi().incr(name).pexpire(name, windowMs * 2).exec()) as [Error | null, number][] | null;
        if (!replies || replies[0][0]) throw replies?.[0][0] ?? new Error("Connection is closed.");
        const count = replies[0][1];
        if (degraded) {
          degraded = false;
          events?.restored();
        }
        if (count <= limit) return { allowed: true, retryAfterSeconds: 0 };
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - t) / 1000)) };
      } catch (err) {
        if (!degraded) {
          degraded = true;
          events?.degraded(err);
        }
        return local.hit(key);
      }
    },
  };
}
