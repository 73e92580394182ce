import fc from "fast-check";
import { MatchingError } from "./errors";
import { reputationOf } from "./reputation";

describe("reputationOf", () => {
  it("starts newcomers at 0.5 and follows the Beta prior", () => {
    expect(reputationOf({ completed: 0, failed: 0, expired: 0, rejected: 0 })).toBe(0.5);
    expect(reputationOf({ completed: 6, failed: 0, expired: 0, rejected: 0 })).toBe(0.8);
    expect(reputationOf({ completed: 2, failed: 1, expired: 1, rejected: 1 })).toBe(0.4);
  });
  it("refuses counts that are not whole numbers of zero or more", () => {
    expect(() => reputationOf({ completed: -1, failed: 0, expired: 0, rejected: 0 })).toThrow(MatchingError);
    expect(() => reputationOf({ completed: 0, failed: 0.5, expired: 0, rejected: 0 })).toThrow(/failed/);
  });
  it("stays in [0, 1], rises with completed work and falls with failures", () => {
    const n = fc.integer({ min: 0, max: 100_000 });
    fc.assert(
      fc.property(n, n, n, n, (completed, failed, expired, rejected) => {
        const r = reputationOf({ completed, failed, expired, rejected });
        expect(r).toBeGreaterThan(0);
        expect(r).toBeLessThan(1);
        expect(reputationOf({ completed: completed + 1, failed, expired, rejected })).toBeGreaterThanOrEqual(r);
        expect(reputationOf({ completed, failed: failed + 1, expired, rejected })).toBeLessThan(r);
        expect(reputationOf({ completed, failed, expired, rejected: rejected + 1 })).toBeLessThan(reputationOf({ completed, failed: failed + 1, expired, rejected }));
      }),
    );
  });
});

describe("stake in reputation", () => {
  it("counts each 1,000 OGPU staked as one completed assignment, at most four", () => {
    const none = reputationOf({ completed: 0, failed: 1, expired: 0, rejected: 0 });
    const some = reputationOf({ completed: 0, failed: 1, expired: 0, rejected: 0, stakedWei: 2000n * 10n ** 18n });
    const lots = reputationOf({ completed: 0, failed: 1, expired: 0, rejected: 0, stakedWei: 10n ** 30n });
    expect(some).toBeCloseTo(4 / 7);
    expect(lots).toBeCloseTo(6 / 9);
    expect(none).toBeLessThan(some);
    expect(reputationOf({ completed: 0, failed: 0, expired: 0, rejected: 0, stakedWei: 999n * 10n ** 18n })).toBe(0.5);
  });
});
