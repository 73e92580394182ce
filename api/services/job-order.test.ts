import fc from "fast-check";
import { uncoveredJobs } from "./job-order";

/** Which waiting unsigned jobs an allowance no longer backs (the allowance sweep's choice). */
const job = (jobId: string, holdWei: bigint, maxDurationSeconds = 600) => ({ jobId, holdWei, maxDurationSeconds });
const NOW = 1_000_000n;
const MARGIN = 3600;
const FAR = NOW + 86_400n;

test("nothing goes while the allowance covers every job until it could run and settle", () => {
  expect(uncoveredJobs([job("b", 6n), job("a", 6n)], { leftWei: 0n, until: FAR }, NOW, MARGIN)).toEqual([]);
});

test("while short, the newest go first, each giving back its hold, until the rest fits", () => {
  // 6 short: the newest (4) is not enough, the next (3) is; the oldest stays
  expect(uncoveredJobs([job("c", 4n), job("b", 3n), job("a", 5n)], { leftWei: -6n, until: FAR }, NOW, MARGIN)).toEqual(["c", "b"]);
  // no allowance at all: every job goes
  expect(uncoveredJobs([job("b", 1n), job("a", 1n)], { leftWei: -2n, until: 0n }, NOW, MARGIN)).toEqual(["b", "a"]);
});

test("a job whose run and settlement would end after the allowance does goes, whatever is left", () => {
  const until = NOW + 600n + 3600n;
  // the long one cannot finish in time; the short one can (its end is exactly the allowance's)
  expect(uncoveredJobs([job("long", 1n, 601), job("short", 1n, 600)], { leftWei: 10n, until }, NOW, MARGIN)).toEqual(["long"]);
});

test("what is kept fits the allowance, and keeping one more of those that went for shortness would not", () => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: 1n, max: 100n }), { maxLength: 12 }), fc.bigInt({ min: -300n, max: 300n }), (holds, leftWei) => {
      const jobs = holds.map((h, i) => job(String(i), h));
      const gone = new Set(uncoveredJobs(jobs, { leftWei, until: FAR }, NOW, MARGIN));
      const given = jobs.filter((j) => gone.has(j.jobId)).reduce((t, j) => t + j.holdWei, 0n);
      if (gone.size < jobs.length) expect(leftWei + given).toBeGreaterThanOrEqual(0n);
      // the newest are the ones that go, and the last of them was needed
      expect([...gone]).toEqual(jobs.slice(0, gone.size).map((j) => j.jobId));
      if (gone.size > 0) expect(leftWei + given - jobs[gone.size - 1].holdWei).toBeLessThan(0n);
    }),
  );
});
