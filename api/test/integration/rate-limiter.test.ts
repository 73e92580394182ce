import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { redisRateLimiter } from "../../http/rate-limiter";
import { busiestWindow as busiestIn } from "../../http/test-windows";

const WINDOW = 60_000;
let a: Redis;
let b: Redis;
beforeAll(() => {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  a = new Redis(url, { maxRetriesPerRequest: 1 });
  b = new Redis(url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await a.quit();
  await b.quit();
});

/** The most of `times` in any window (t - WINDOW, t]. */
const busiestWindow = (times: number[]) => busiestIn(times, WINDOW);

const arrivals = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 3 * WINDOW }), fc.integer({ min: WINDOW - 1500, max: WINDOW + 1500 }), fc.constantFrom(WINDOW - 1, WINDOW)), { minLength: 1, maxLength: 120 })
  .map((ts) => ts.map((x) => 1_700_000_000_000 + x).sort((p, q) => p - q));

it("in Redis, two instances sharing the counts never admit more than the limit in any window (an injected clock, bursts at the boundary)", async () => {
  await fc.assert(
    fc.asyncProperty(arrivals, fc.integer({ min: 1, max: 12 }), async (times, limit) => {
      const prefix = `gxt-rl-${randomBytes(4).toString("hex")}`;
      let t = 0;
      const instances = [redisRateLimiter(a, prefix, limit, WINDOW, undefined, () => t), redisRateLimiter(b, prefix, limit, WINDOW, undefined, () => t)];
      const kept: number[] = [];
      for (const [i, at] of times.entries()) {
        t = at;
        const decision = await instances[i % 2].hit("ip:198.51.100.7");
        if (decision.allowed) kept.push(at);
        else expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      }
      expect(busiestWindow(kept)).toBeLessThanOrEqual(limit);
      // the limit is reached, not merely never passed: a burst of limit + 1 at one moment admits exactly limit
      t = times.at(-1)! + 10 * WINDOW;
      const burst = await Promise.all(Array.from({ length: limit + 1 }, (_, i) => instances[i % 2].hit("ip:203.0.113.9")));
      expect(burst.filter((d) => d.allowed)).toHaveLength(limit);
    }),
    { numRuns: 25 },
  );
}, 120_000);

it("keeps one small hash per key that expires after a window and two buckets", async () => {
  const prefix = `gxt-rl-${randomBytes(4).toString("hex")}`;
  let t = 1_700_000_000_000;
  const limiter = redisRateLimiter(a, prefix, 100, WINDOW, undefined, () => t);
  for (let i = 0; i < 300; i++) {
    t += 500;
    await limiter.hit("a:someone");
  }
  const key = `${prefix}:rl:a:someone`;
  expect(await a.type(key)).toBe("hash");
  expect(await a.hlen(key)).toBeLessThanOrEqual(61);
  const ttl = await a.pttl(key);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(WINDOW + 2000);
});
