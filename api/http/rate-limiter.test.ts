import fc from "fast-check";
import type { Redis } from "ioredis";
import { BUCKETS_PER_WINDOW, localRateLimiter, redisRateLimiter, slidingWindow } from "./rate-limiter";
import { busiestWindow as busiestIn } from "./test-windows";

/** A Redis stand-in for the limiter's script: it counts per key and bucket, or fails like a client with no offline queue. */
function fakeRedis() {
  const keys = new Map<string, Map<number, number>>();
  const state = { down: false, calls: 0 };
  const redis = {
    defineCommand() {},
    async gxSlidingWindow(key: string, bucket: string, _buckets: number, limit: number) {
      state.calls++;
      if (state.down) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      const counts = keys.get(key) ?? new Map<number, number>();
      keys.set(key, counts);
      const b = Number(bucket);
      const total = [...counts].filter(([k]) => k >= b - BUCKETS_PER_WINDOW).reduce((s, [, n]) => s + n, 0);
      if (total >= limit) return [0, 1];
      counts.set(b, (counts.get(b) ?? 0) + 1);
      return [1, 0];
    },
  };
  return { redis: redis as unknown as Redis, state };
}

const WINDOW = 60_000;

/** Feeds sorted arrival times to a limiter; returns the times it admitted. */
function admitted(times: number[], limit: number): number[] {
  let t = 0;
  const limiter = localRateLimiter(limit, WINDOW, () => t);
  const out: number[] = [];
  for (const at of times) {
    t = at;
    if (limiter.hit("k").allowed) out.push(at);
  }
  return out;
}

/** The most admitted times in any window (t - WINDOW, t]. */
const busiestWindow = (times: number[]) => busiestIn(times, WINDOW);

/** Arrival times over three windows, crowded around the window boundaries (where a fixed window gives twice the allowance). */
const arrivals = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 3 * WINDOW }),
      fc.integer({ min: WINDOW - 2000, max: WINDOW + 2000 }),
      fc.integer({ min: 2 * WINDOW - 2000, max: 2 * WINDOW + 2000 }),
      fc.constantFrom(WINDOW - 1, WINDOW, 2 * WINDOW - 1, 2 * WINDOW),
    ),
    { maxLength: 400 },
  )
  .map((ts) => ts.map((x) => 1_700_000_000_000 + x).sort((a, b) => a - b));

describe("the sliding window", () => {
  it("never admits more than the limit in any window, wherever it starts (bursts at a boundary included)", () => {
    fc.assert(
      fc.property(arrivals, fc.integer({ min: 1, max: 30 }), (times, limit) => {
        expect(busiestWindow(admitted(times, limit))).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a request only when the limit was reached within the last window and one bucket", () => {
    const bucketMs = WINDOW / BUCKETS_PER_WINDOW;
    fc.assert(
      fc.property(arrivals, fc.integer({ min: 1, max: 30 }), (times, limit) => {
        const kept = admitted(times, limit);
        const keptSet = new Set(kept.map((t, i) => `${t}:${kept.slice(0, i).filter((x) => x === t).length}`));
        const seen = new Map<number, number>();
        for (const t of times) {
          const nth = seen.get(t) ?? 0;
          seen.set(t, nth + 1);
          if (keptSet.has(`${t}:${nth}`)) continue;
          const recent = kept.filter((x) => x <= t && x > t - WINDOW - bucketMs).length;
          expect(recent).toBeGreaterThanOrEqual(limit);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a refused client that waits Retry-After is admitted", () => {
    fc.assert(
      fc.property(arrivals, fc.integer({ min: 1, max: 10 }), (times, limit) => {
        let t = 0;
        const limiter = localRateLimiter(limit, WINDOW, () => t);
        for (const [i, at] of times.entries()) {
          t = at;
          const decision = limiter.hit("k");
          if (decision.allowed) continue;
          // the same requests (refused ones count for nothing) in a fresh limiter, then one after the wait
          expect(replayThenProbe(times.slice(0, i + 1), limit, at + decision.retryAfterSeconds * 1000)).toBe(true);
          return;
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the bucket counts decide alone: the rule is a pure function of the counts and the time", () => {
    const counts = new Map([[100, 3], [130, 2]]);
    expect(slidingWindow(counts, 160 * 1000, 5, WINDOW)).toEqual({ allowed: false, bucket: 160, waitBuckets: 1 });
    expect(slidingWindow(counts, 161 * 1000, 5, WINDOW)).toEqual({ allowed: true, bucket: 161, waitBuckets: 0 });
    expect(slidingWindow(counts, 150 * 1000, 6, WINDOW).allowed).toBe(true);
  });
});

/** Admits `times` in a fresh limiter, then says whether one request at `probeAt` is admitted. */
function replayThenProbe(times: number[], limit: number, probeAt: number): boolean {
  let t = 0;
  const limiter = localRateLimiter(limit, WINDOW, () => t);
  for (const at of times) {
    t = at;
    limiter.hit("k");
  }
  t = probeAt;
  return limiter.hit("k").allowed;
}

describe("redisRateLimiter", () => {
  const at = 1_000_000_000_000;

  it("counts in Redis, and per process while Redis is down (saying so once each way)", async () => {
    const { redis, state } = fakeRedis();
    const said: string[] = [];
    const limiter = redisRateLimiter(redis, "t", 2, 60_000, { degraded: () => said.push("degraded"), restored: () => said.push("restored") }, () => at);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect(await limiter.hit("a")).toEqual({ allowed: false, retryAfterSeconds: 1 });

    state.down = true;
    expect((await limiter.hit("b")).allowed).toBe(true);
    expect((await limiter.hit("b")).allowed).toBe(true);
    expect((await limiter.hit("b")).allowed).toBe(false);
    expect((await limiter.hit("c")).allowed).toBe(true);
    expect(said).toEqual(["degraded"]);

    state.down = false;
    expect((await limiter.hit("d")).allowed).toBe(true);
    expect(said).toEqual(["degraded", "restored"]);
  });

  it("per process, a request a whole window and a bucket later is admitted again, and not before", async () => {
    const { redis, state } = fakeRedis();
    state.down = true;
    let now = at;
    const limiter = redisRateLimiter(redis, "t", 1, 60_000, undefined, () => now);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect((await limiter.hit("a")).allowed).toBe(false);
    now += 60_000;
    expect((await limiter.hit("a")).allowed).toBe(false);
    now += 1000;
    expect((await limiter.hit("a")).allowed).toBe(true);
  });
});
