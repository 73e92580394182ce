import { backoffMs, ChainHealth, observedChain } from "./health";
import { FakeChain } from "./testing";

describe("ChainHealth", () => {
  it("says when the node stopped answering, reminds while it lasts, and says how long it lasted", () => {
    let t = 1_000_000;
    const health = new ChainHealth(() => new Date(t), 60_000);
    expect(health.view().reachable).toBeNull();
    expect(health.ok(10n)).toBeUndefined();
    expect(health.view()).toMatchObject({ reachable: true, headBlock: 10n, headAt: new Date(t), unreachableSince: null });
    t += 1000;
    expect(health.failed(new Error("ECONNREFUSED"))).toEqual({ kind: "down", since: new Date(t), error: "ECONNREFUSED" });
    const since = new Date(t);
    t += 30_000;
    expect(health.failed(new Error("timeout"))).toBeUndefined();
    expect(health.view()).toMatchObject({ reachable: false, headBlock: 10n, unreachableSince: since, error: "timeout" });
    t += 30_000;
    expect(health.failed(new Error("timeout"))).toEqual({ kind: "still-down", since, downMs: 60_000, error: "timeout" });
    t += 5000;
    expect(health.ok(12n)).toEqual({ kind: "up", downMs: 65_000 });
    expect(health.view()).toMatchObject({ reachable: true, headBlock: 12n, unreachableSince: null, error: null });
  });

  it("observedChain records head and block calls, not refused ranges", async () => {
    const chain = new FakeChain(10);
    const health = new ChainHealth();
    const changes: string[] = [];
    const observed = observedChain(chain, health, (c) => changes.push(c.kind));
    expect(await observed.head()).toBe(9n);
    expect(health.view().headBlock).toBe(9n);
    chain.maxSpan = 1n;
    await expect(observed.events(0n, 5n)).rejects.toThrow();
    expect(health.view().reachable).toBe(true);
    const head = chain.head;
    chain.head = () => Promise.reject(new Error("connect ECONNREFUSED"));
    await expect(observed.head()).rejects.toThrow();
    chain.head = head;
    await observed.head();
    expect(changes).toEqual(["down", "up"]);
  });
});

test("backoffMs doubles from the base up to the cap", () => {
  expect([0, 1, 2, 3, 4, 10, 100].map((n) => backoffMs(n, 100, 1000))).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
});
