import fc from "fast-check";
import type { AssignmentStatusValue, JobStatusValue } from "../db/repositories/job.repository";
import { decideJob, type VotingAssignment } from "./job-decision";
import { ASSIGNMENT_TRANSITIONS, JOB_TRANSITIONS } from "../db/repositories/states";

const STATUSES: AssignmentStatusValue[] = ["ASSIGNED", "RUNNING", "COMPLETED", "FAILED", "EXPIRED", "CANCELLED", "REJECTED"];
const OPEN_JOB: JobStatusValue[] = ["PENDING", "MATCHED", "RUNNING", "VALIDATING"];

/** A job's assignments as any history could leave them: per replica, attempts with statuses and one of three hashes. */
const scenario = fc
  .record({ redundancy: fc.integer({ min: 1, max: 5 }), maxAttempts: fc.integer({ min: 1, max: 4 }), status: fc.constantFrom(...OPEN_JOB) })
  .chain((job) =>
    fc.record({
      job: fc.constant(job),
      assignments: fc
        .array(fc.record({ replica: fc.integer({ min: 0, max: job.redundancy - 1 }), status: fc.constantFrom(...STATUSES), hash: fc.constantFrom("a", "b", "c") }), { maxLength: 12 })
        .map((xs) => xs.map((x, i): VotingAssignment => ({ id: `as${i}`, replica: x.replica, status: x.status, resultHash: x.status === "COMPLETED" || x.status === "REJECTED" ? x.hash : null }))),
    }),
  );

const live = (a: VotingAssignment) => a.status === "ASSIGNED" || a.status === "RUNNING";

describe("decideJob", () => {
  it("never completes while a replica is still working, and a winner is a strict majority of one hash", () => {
    fc.assert(
      fc.property(scenario, ({ job, assignments }) => {
        const d = decideJob(job, assignments, job.maxAttempts);
        if (d.kind !== "complete") return;
        expect(assignments.some(live)).toBe(false);
        const winners = assignments.filter((a) => d.winners.includes(a.id));
        expect(winners.length * 2).toBeGreaterThan(job.redundancy);
        expect(winners.every((a) => a.status === "COMPLETED" && a.resultHash === d.resultHash)).toBe(true);
      }),
    );
  });

  it("charges each winner once: distinct completed assignments, none also rejected", () => {
    fc.assert(
      fc.property(scenario, ({ job, assignments }) => {
        const d = decideJob(job, assignments, job.maxAttempts);
        if (d.kind !== "complete") return;
        expect(new Set(d.winners).size).toBe(d.winners.length);
        expect(d.rejected.filter((id) => d.winners.includes(id))).toEqual([]);
        expect(d.rejected.every((id) => assignments.find((a) => a.id === id)!.status === "COMPLETED")).toBe(true);
      }),
    );
  });

  it("fails for attempts only once a missing replica used maxAttempts (cancelled attempts not counted)", () => {
    fc.assert(
      fc.property(scenario, ({ job, assignments }) => {
        const d = decideJob(job, assignments, job.maxAttempts);
        if (d.kind !== "fail" || d.reason !== "attempts") return;
        const r = d.exhaustedReplica!;
        const mine = assignments.filter((a) => a.replica === r);
        expect(mine.filter((a) => a.status !== "CANCELLED").length).toBeGreaterThanOrEqual(job.maxAttempts);
        expect(mine.some((a) => live(a) || a.status === "COMPLETED")).toBe(false);
        expect(d.cancel.sort()).toEqual(assignments.filter(live).map((a) => a.id).sort());
      }),
    );
  });

  it("a replica without live or completed work goes back to matching (PENDING) while it has attempts left", () => {
    fc.assert(
      fc.property(scenario, ({ job, assignments }) => {
        const d = decideJob(job, assignments, job.maxAttempts);
        if (d.kind !== "continue") return;
        for (const r of d.missingReplicas) {
          expect(assignments.some((a) => a.replica === r && (live(a) || a.status === "COMPLETED"))).toBe(false);
          expect(assignments.filter((a) => a.replica === r && a.status !== "CANCELLED").length).toBeLessThan(job.maxAttempts);
        }
        expect(d.status === "PENDING").toBe(d.missingReplicas.length > 0);
        expect(d.status === job.status || JOB_TRANSITIONS[job.status].includes(d.status)).toBe(true);
      }),
    );
  });

  it("an ended job decides nothing, so concluding it again changes and charges nothing", () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom<JobStatusValue>("COMPLETED", "FAILED", "CANCELLED", "EXPIRED"), ({ job, assignments }, ended) => {
        expect(decideJob({ ...job, status: ended }, assignments, job.maxAttempts)).toEqual({ kind: "none" });
      }),
    );
  });

  it("examples: 2 of 3 agree; 1 vs 1 of 2 disagree; a third attempt failed", () => {
    const done = (id: string, replica: number, hash: string): VotingAssignment => ({ id, replica, status: "COMPLETED", resultHash: hash });
    expect(decideJob({ status: "VALIDATING", redundancy: 3 }, [done("x", 0, "h"), done("y", 1, "h"), done("z", 2, "other")], 3)).toEqual({
      kind: "complete",
      resultHash: "h",
      winners: ["x", "y"],
      rejected: ["z"],
    });
    expect(decideJob({ status: "VALIDATING", redundancy: 2 }, [done("x", 0, "h"), done("y", 1, "g")], 3)).toEqual({ kind: "fail", reason: "no-majority", cancel: [] });
    const failed = (id: string): VotingAssignment => ({ id, replica: 0, status: "FAILED", resultHash: null });
    expect(decideJob({ status: "RUNNING", redundancy: 1 }, [failed("1"), failed("2")], 3)).toEqual({ kind: "continue", status: "PENDING", missingReplicas: [0] });
    expect(decideJob({ status: "RUNNING", redundancy: 1 }, [failed("1"), failed("2"), failed("3")], 3)).toMatchObject({ kind: "fail", reason: "attempts", exhaustedReplica: 0 });
  });
});

describe("the transition tables", () => {
  it("final states lead nowhere, and every state an assignment reaches is in the table", () => {
    for (const s of ["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"] as JobStatusValue[]) expect(JOB_TRANSITIONS[s]).toEqual([]);
    for (const targets of Object.values(ASSIGNMENT_TRANSITIONS)) for (const t of targets) expect(Object.keys(ASSIGNMENT_TRANSITIONS)).toContain(t);
    expect(ASSIGNMENT_TRANSITIONS.COMPLETED).toEqual(["REJECTED"]);
  });
});
