import { createHash, randomBytes } from "node:crypto";
import { parseDecimal } from "../../../pricing";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { gql, startTestServer, type GqlResponse, type TestServer } from "../harness";

jest.setTimeout(120_000);

const JOBS = 20;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const JOB = `query J($id: ID!) { job(id: $id) { id status cost assignments { id status } } }`;

let a: TestServer;
let b: TestServer;
let worker: TestServer;

beforeAll(async () => {
  // two API instances and a worker on a database of their own (the escrow sums below read whole tables)
  const shared = { QUEUE_PREFIX: `gxr${randomBytes(3).toString("hex")}`, JWT_SECRET: randomBytes(32).toString("hex"), DATABASE_URL: await privateDatabaseUrl("races"), RATE_LIMIT_PER_MINUTE: "0" };
  a = await startTestServer(shared, { api: true, worker: false });
  b = await startTestServer(shared, { api: true, worker: false });
  worker = await startTestServer(shared, { api: false, worker: true });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), worker.stop()]);
});

/** `count` RUNNING jobs of one client, each on its own assignment of one provider's node. */
async function runningJobs(count: number): Promise<{ client: Actor; provider: Actor; jobs: { jobId: string; assignmentId: string }[] }> {
  const m = freshModel();
  const provider = await actor(a);
  const { nodeId } = await onlineOffer(a, provider, m.gpu(count), "2", count);
  const client = await actor(a, 1000n);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await gql(a.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "3", maxDurationSeconds: 600 }) }, client.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    ids.push(r.data!.submitJob.id);
  }
  const assignments = await eventually(async () => {
    const r = await gql(a.url, op("PendingAssignments"), { nodeId }, provider.token);
    const list = (r.data?.assignments ?? []) as { id: string; job: { id: string } }[];
    return list.length === count ? list : undefined;
  }, 30_000, `${count} assignments`);
  for (const x of assignments) {
    const r = await gql(b.url, op("StartAssignment"), { id: x.id }, provider.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  return { client, provider, jobs: ids.map((jobId) => ({ jobId, assignmentId: assignments.find((x) => x.job.id === jobId)!.id })) };
}

/** Every error of every response: only CONFLICT may be among them (never a 500 or a masked error). */
function codes(responses: GqlResponse[]): string[] {
  return responses.flatMap((r) => (r.errors ?? []).map((e) => String(e.extensions?.code)));
}

async function escrowOf(who: Actor) {
  const [row] = await a.system.db.query(`SELECT held_wei, spent_wei FROM escrow_balances WHERE account_id = $1`, [who.accountId]);
  return { held: BigInt(row.held_wei), spent: BigInt(row.spent_wei) };
}

async function charges(jobId: string): Promise<bigint[]> {
  const rows: { amount_wei: string }[] = await a.system.db.query(`SELECT amount_wei FROM charges WHERE job_id = $1`, [jobId]);
  return rows.map((r) => BigInt(r.amount_wei));
}

it("cancelJob on one instance against completeAssignment on the other, 20 jobs at once: one winner each, losers CONFLICT, no 500", async () => {
  const { client, provider, jobs } = await runningJobs(JOBS);
  const results = await Promise.all(
    jobs.map(async ({ jobId, assignmentId }) => {
      const [cancel, complete] = await Promise.all([
        gql(a.url, op("CancelJob"), { id: jobId }, client.token),
        gql(b.url, op("CompleteAssignment"), { id: assignmentId, resultHash: sha(jobId) }, provider.token),
      ]);
      return { jobId, cancel, complete };
    }),
  );
  for (const { jobId, cancel, complete } of results) {
    expect(codes([cancel, complete]).filter((c) => c !== "CONFLICT")).toEqual([]);
    // exactly one of the two won, and the job's final state says which
    expect([cancel.errors === undefined, complete.errors === undefined].filter(Boolean)).toHaveLength(1);
    const j = (await gql(a.url, JOB, { id: jobId }, client.token)).data!.job;
    expect(j.status).toBe(cancel.errors === undefined ? "CANCELLED" : "COMPLETED");
    expect(j.assignments).toEqual([{ id: expect.any(String), status: j.status === "CANCELLED" ? "CANCELLED" : "COMPLETED" }]);
    // charged at most once, and what the job says it cost is what was charged
    const charged = await charges(jobId);
    expect(charged.length).toBeLessThanOrEqual(1);
    expect(parseDecimal(j.cost ?? "0")).toBe(charged.reduce((x, y) => x + y, 0n));
  }
  const money = await escrowOf(client);
  expect(money.held).toBe(0n);
  const [{ total }] = await a.system.db.query(`SELECT coalesce(sum(amount_wei), 0)::text AS total FROM charges WHERE client_id = $1`, [client.accountId]);
  expect(money.spent).toBe(BigInt(total));
});

it("failAssignment, completeAssignment and two cancelJob on one running job at once, 20 jobs: each ends in exactly one final state", async () => {
  const { client, provider, jobs } = await runningJobs(JOBS);
  const results = await Promise.all(
    jobs.map(async ({ jobId, assignmentId }) => {
      const responses = await Promise.all([
        gql(a.url, op("FailAssignment"), { id: assignmentId, reason: "out of memory" }, provider.token),
        gql(b.url, op("CompleteAssignment"), { id: assignmentId, resultHash: sha(jobId) }, provider.token),
        gql(a.url, op("CancelJob"), { id: jobId }, client.token),
        gql(b.url, op("CancelJob"), { id: jobId }, client.token),
      ]);
      return { jobId, responses };
    }),
  );
  for (const { jobId, responses } of results) {
    expect(codes(responses).filter((c) => c !== "CONFLICT")).toEqual([]);
    const [fail, complete] = responses;
    expect(fail.errors === undefined && complete.errors === undefined).toBe(false);
    const j = (await gql(a.url, JOB, { id: jobId }, client.token)).data!.job;
    // a failed attempt sends the job back to matching only when no cancel won; a cancel wins over a PENDING job too
    expect(["CANCELLED", "COMPLETED"]).toContain(j.status);
    if (complete.errors === undefined) expect(j.status).toBe("COMPLETED");
    expect((await charges(jobId)).length).toBeLessThanOrEqual(1);
  }
  // the jobs that were sent back to matching before a cancel won rest nowhere: none is left live
  const [{ live }] = await a.system.db.query(
    `SELECT count(*)::int AS live FROM jobs WHERE client_id = $1 AND status NOT IN ('COMPLETED', 'CANCELLED', 'FAILED', 'EXPIRED')`,
    [client.accountId],
  );
  expect(live).toBe(0);
  expect((await escrowOf(client)).held).toBe(0n);
});
