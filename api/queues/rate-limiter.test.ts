import type { Redis } from "ioredis";
import { redisRateLimiter } from "./rate-limiter";

/** A Redis stand-in whose MULTI either counts like INCR or fails like a client with no offline queue. */
function fakeRedis() {
  const counts = new Map<string, number>();
  const state = { down: false, calls: 0 };
  const redis = {
    multi() {
      let key = "";
      const chain = {
        incr(k: string) {
          key = k;
          return chain;
        },
        pexpire() {
          return chain;
        },
        async exec() {
          state.calls++;
          if (state.down) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
          const n = (counts.get(key) ?? 0) + 1;
          counts.set(key, n);
          return [[null, n], [null, 1]];
        },
      };
      return chain;
    },
  };
  return { redis: redis as unknown as Redis, state };
}

describe("redisRateLimiter", () => {
  const at = 1_000_000_000_000;

  it("counts in Redis, and per process while Redis is down (saying so once each way)", async () => {
    const { redis, state } = fakeRedis();
    const said: string[] = [];
    const limiter = redisRateLimiter(redis, "t", 2, 60_000, { degraded: () => said.push("degraded"), restored: () => said.push("restored") }, () => at);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect(await limiter.hit("a")).toEqual({ allowed: false, retryAfterSeconds: 20 });

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

  it("a new window starts the per-process counts over", async () => {
    const { redis, state } = fakeRedis();
    state.down = true;
    let now = at;
    const limiter = redisRateLimiter(redis, "t", 1, 60_000, undefined, () => now);
    expect((await limiter.hit("a")).allowed).toBe(true);
    expect((await limiter.hit("a")).allowed).toBe(false);
    now += 60_000;
    expect((await limiter.hit("a")).allowed).toBe(true);
  });
});
