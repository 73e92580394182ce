import type { Principal } from "./principal";
import { maySeeJobOfAssignment, maySeeJobOfTrade, maySeeResumePoint } from "./visibility";

const as = (accountId: string): Principal => ({ accountId, address: `0x${accountId.padStart(40, "0")}`, via: "session" });
const CLIENT = "c1";
const PROVIDER = "p1";

describe("visibility", () => {
  it("shows a job through its assignment to its client and that assignment's provider, to no one else", () => {
    const job = { clientId: CLIENT };
    const assignment = { providerId: PROVIDER };
    expect([as(CLIENT), as(PROVIDER), as("other"), undefined].map((p) => maySeeJobOfAssignment(p, job, assignment))).toEqual([true, true, false, false]);
  });

  it("shows a trade's job to its client only, not to the provider who sold", () => {
    expect([as(CLIENT), as(PROVIDER), undefined].map((p) => maySeeJobOfTrade(p, { clientId: CLIENT }))).toEqual([true, false, false]);
  });

  it("shows where an attempt resumes to the provider running it only, not to the job's client", () => {
    expect([as(PROVIDER), as(CLIENT), undefined].map((p) => maySeeResumePoint(p, { providerId: PROVIDER }))).toEqual([true, false, false]);
  });
});
