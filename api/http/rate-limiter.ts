import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  /** Seconds until a request would be admitted again (when refused). */
  retryAfterSeconds: number;
}

/** Admits at most `limit` requests per key in any window of `windowMs`. */
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

/** Each window is counted in this many buckets (a minute in seconds). */
export const BUCKETS_PER_WINDOW = 60;

/** Keys counted in memory at most; past it, keys idle for a window are dropped first. */
const LOCAL_MAX_KEYS = 100_000;

/**
 * The sliding-window rule, for one request at `t` (ms): the requests admitted in the last BUCKETS_PER_WINDOW + 1
 * buckets (bucket = windowMs / BUCKETS_PER_WINDOW; the span covers every window of `windowMs` that ends at `t`, and
 * at most one bucket more) must be fewer than `limit`. So no window of `windowMs`, wherever it starts, ever holds
 * more than `limit` admitted requests (a window boundary gives no fresh allowance); a request may be refused up to
 * one bucket early. Refused requests are not counted. `counts` maps bucket index to requests admitted in it.
 *
 * @returns admitted or not, the bucket the request counts in, and when refused the number of whole buckets after
 *   the current one at whose start a request would be admitted (given no other requests).
 */
export function slidingWindow(counts: ReadonlyMap<number, number>, t: number, limit: number, windowMs: number): { allowed: boolean; bucket: number; waitBuckets: number } {
  const size = windowMs / BUCKETS_PER_WINDOW;
  const bucket = Math.floor(t / size);
  const oldest = bucket - BUCKETS_PER_WINDOW;
  let total = 0;
  for (const [b, n] of counts) if (b >= oldest) total += n;
  if (total < limit) return { allowed: true, bucket, waitBuckets: 0 };
  let remaining = total;
  for (let j = 1; j <= BUCKETS_PER_WINDOW + 1; j++) {
    remaining -= counts.get(oldest + j - 1) ?? 0;
    if (remaining < limit) return { allowed: false, bucket, waitBuckets: j };
  }
  return { allowed: false, bucket, waitBuckets: BUCKETS_PER_WINDOW + 1 };
}

/** Seconds from `t` to the start of the bucket `waitBuckets` after `bucket` (at least 1). */
function retryAfter(t: number, bucket: number, waitBuckets: number, windowMs: number): number {
  const size = windowMs / BUCKETS_PER_WINDOW;
  return Math.max(1, Math.ceil(((bucket + waitBuckets) * size - t) / 1000));
}

/**
 * The sliding window in this process only: the fallback while Redis is down (each instance then admits up to the
 * limit on its own). Buckets older than the span are dropped as keys are touched.
 */
export function localRateLimiter(limit: number, windowMs: number, now: () => number = Date.now) {
  const keys = new Map<string, Map<number, number>>();
  const span = BUCKETS_PER_WINDOW + 1;
  const sweep = (current: number) => {
    for (const [key, counts] of keys) if (Math.max(...counts.keys()) < current - span) keys.delete(key);
  };
  return {
    hit(key: string): RateDecision {
      const t = now();
      const counts = keys.get(key) ?? new Map<number, number>();
      const decision = slidingWindow(counts, t, limit, windowMs);
      for (const b of counts.keys()) if (b < decision.bucket - BUCKETS_PER_WINDOW) counts.delete(b);
      if (!decision.allowed) return { allowed: false, retryAfterSeconds: retryAfter(t, decision.bucket, decision.waitBuckets, windowMs) };
      if (!keys.has(key) && keys.size >= LOCAL_MAX_KEYS) sweep(decision.bucket);
      if (keys.has(key) || keys.size < LOCAL_MAX_KEYS) {
        counts.set(decision.bucket, (counts.get(decision.bucket) ?? 0) + 1);
        keys.set(key, counts);
      }
      return { allowed: true, retryAfterSeconds: 0 };
    },
  };
}

/**
 * {@link slidingWindow} in Redis, atomic (one script): a hash of bucket → count per key.
 * KEYS[1] the key; ARGV: current bucket, buckets per window, limit, ttl (ms).
 * Returns { admitted (1/0), wait buckets }.
 */
const SLIDING_WINDOW_LUA = `
local current = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local oldest = current - n
local fields = redis.call('HGETALL', KEYS[1])
local counts = {}
local total = 0
for i = 1, #fields, 2 do
  local b = tonumber(fields[i])
  if b < oldest then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    local c = tonumber(fields[i + 1])
    counts[b] = c
    total = total + c
  end
end
if total < limit then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, 0}
end
local remaining = total
for j = 1, n + 1 do
  remaining = remaining - (counts[oldest + j - 1] or 0)
  if remaining < limit then return {0, j} end
end
return {0, n + 1}
`;

type SlidingRedis = Redis & { gxSlidingWindow(key: string, bucket: string, buckets: number, limit: number, ttlMs: number): Promise<[number, number]> };

/**
 * The sliding window counted in Redis (one atomic script per request), so every API instance shares the counts:
 * at most `limit` requests per key in any `windowMs`. Buckets are named by the caller's clock (instances keep
 * their clocks in sync, as with NTP). `redis` must fail fast when it cannot answer (no offline queue, a command
 * timeout): then the limiter falls back to counting in this process, says so through `events`, and goes back to
 * Redis once it answers. A request never waits on a Redis that is down.
 */
export function redisRateLimiter(redis: Redis, prefix: string, limit: number, windowMs: number, events?: RateLimiterEvents, now: () => number = Date.now): RateLimiter {
  const local = localRateLimiter(limit, windowMs, now);
  const size = windowMs / BUCKETS_PER_WINDOW;
  const ttlMs = Math.ceil(windowMs + 2 * size);
  if (!("gxSlidingWindow" in redis)) redis.defineCommand("gxSlidingWindow", { numberOfKeys: 1, lua: SLIDING_WINDOW_LUA });
  const scripted = redis as SlidingRedis;
  let degraded = false;
  return {
    async hit(key) {
      const t = now();
      const bucket = Math.floor(t / size);
      try {
        const [admitted, waitBuckets] = await scripted.gxSlidingWindow(`${prefix}:rl:${key}`, String(bucket), BUCKETS_PER_WINDOW, limit, ttlMs);
        if (degraded) {
          degraded = false;
          events?.restored();
        }
        if (admitted === 1) return { allowed: true, retryAfterSeconds: 0 };
        return { allowed: false, retryAfterSeconds: retryAfter(t, bucket, waitBuckets, windowMs) };
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
