import fc from "fast-check";
import { judgeSubmitted, minWithdrawDelaySeconds, planRetry, retryDelayMs } from "./settlement-plan";

describe("judgeSubmitted", () => {
  it("believes a receipt, and calls a transaction vanished only when unknown or replaced after the grace", () => {
    expect(judgeSubmitted({ receipt: { ok: true }, lookup: "unknown", ageMs: 0, dropAfterMs: 10 })).toBe("mined");
    expect(judgeSubmitted({ receipt: { ok: false }, ageMs: 0, dropAfterMs: 10 })).toBe("reverted");
    expect(judgeSubmitted({ receipt: null, lookup: "unknown", ageMs: 9, dropAfterMs: 10 })).toBe("waiting");
    expect(judgeSubmitted({ receipt: null, lookup: "unknown", ageMs: 10, dropAfterMs: 10 })).toBe("vanished");
    expect(judgeSubmitted({ receipt: null, lookup: "replaced", ageMs: 60_000, dropAfterMs: 10 })).toBe("vanished");
    expect(judgeSubmitted({ receipt: null, lookup: "pending", ageMs: 60_000, dropAfterMs: 10 })).toBe("waiting");
  });
});

describe("planRetry", () => {
  it("keeps every charge exactly once, in order, in non-empty parts; only a single charge waits", () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1, maxLength: 300 }), fc.nat(10), (rows, attempt) => {
        const parts = planRetry(rows, attempt, { baseMs: 1000, maxMs: 60_000 });
        expect(parts.flatMap((p) => p.rows)).toEqual(rows);
        expect(parts.every((p) => p.rows.length > 0 && p.rows.length < rows.length + (rows.length === 1 ? 1 : 0))).toBe(true);
        for (const p of parts) expect(p.delayMs > 0).toBe(rows.length === 1);
      }),
    );
  });

  it("with groups (a signed order's charges), never splits a group: every charge once, a batch of one group waits whole", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ group: fc.integer({ min: 0, max: 8 }), id: fc.nat() }), { minLength: 1, maxLength: 100 }), (rows) => {
        const parts = planRetry(rows, 0, { baseMs: 1000, maxMs: 60_000 }, (r) => String(r.group));
        expect(parts.flatMap((p) => p.rows).sort((a, b) => a.id - b.id || a.group - b.group)).toEqual([...rows].sort((a, b) => a.id - b.id || a.group - b.group));
        const groups = new Set(rows.map((r) => r.group));
        for (const g of groups) expect(parts.filter((p) => p.rows.some((r) => r.group === g))).toHaveLength(1);
        for (const p of parts) {
          expect(p.rows.length).toBeGreaterThan(0);
          expect(p.delayMs > 0).toBe(groups.size === 1);
          // a group's charges all come along, in the batch's order
          for (const g of new Set(p.rows.map((r) => r.group))) expect(p.rows.filter((r) => r.group === g)).toEqual(rows.filter((r) => r.group === g));
        }
      }),
    );
    expect(planRetry([1, 2, 3, 4], 0, { baseMs: 1, maxMs: 1 }, (r) => (r % 2 === 0 ? "even" : "odd")).map((p) => p.rows)).toEqual([[1, 3], [2, 4]]);
  });

  it("isolates one bad charge among n in about log2(n) refusals", () => {
    const rows = Array.from({ length: 100 }, (_, i) => i);
    let batches = [rows];
    let refusals = 0;
    while (batches.some((b) => b.includes(37) && b.length > 1)) {
      const bad = batches.find((b) => b.includes(37))!;
      refusals++;
      batches = [...batches.filter((b) => b !== bad), ...planRetry(bad, 0, { baseMs: 1, maxMs: 1 }).map((p) => p.rows)];
    }
    expect(refusals).toBeLessThanOrEqual(7);
  });
});

test("retryDelayMs doubles per attempt up to the cap", () => {
  expect([1, 2, 3, 10, 40].map((a) => retryDelayMs(a, 30_000, 3_600_000))).toEqual([30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
});

describe("minWithdrawDelaySeconds", () => {
  it("asks for twice a poll and a pass plus the holds transaction's wait, rounded up to a second", () => {
    // the defaults (1 s poll, 5 s pass, 30 s wait): 42 s, under the dev chain's 60 s
    expect(minWithdrawDelaySeconds({ indexerPollMs: 1000, settlementIntervalMs: 5000, holdsTxWaitMs: 30_000 })).toBe(42);
    expect(minWithdrawDelaySeconds({ indexerPollMs: 100, settlementIntervalMs: 300, holdsTxWaitMs: 30_000 })).toBe(31);
    expect(minWithdrawDelaySeconds({ indexerPollMs: 1, settlementIntervalMs: 0, holdsTxWaitMs: 0 })).toBe(1);
  });
});
