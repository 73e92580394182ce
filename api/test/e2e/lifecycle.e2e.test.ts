import { createHash } from "node:crypto";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { codeOf, gql, startTestServer, wsClient, type TestServer } from "../harness";
import { SteppedClock } from "../../services/clock";

const SETTINGS = { LEASE_SWEEP_MS: "200", CHECKPOINT_MAX_BYTES: "1024", MAX_ATTEMPTS: "3" };
/** The time the server bills by: a test steps it over the run time it charges, instead of sleeping through it. */
const clock = new SteppedClock();
let server: TestServer;
beforeAll(async () => {
  // leases of 10 minutes: the clock's steps (about a minute in all) never lapse one (matching sets leases by the
  // system clock, which the stepped clock is ahead of)
  server = await startTestServer({ ...SETTINGS, LEASE_SECONDS: "600" }, undefined, clock);
});
afterAll(() => server.stop());

/** 1 OGPU in wei, and the trade price of these tests, 3.6 OGPU per GPU-hour: 10^15 wei per GPU-second. */
const OGPU = 10n ** 18n;
const WEI_PER_GPU_SECOND = (36n * OGPU) / 10n / 3600n;
/** Wei as the API spells OGPU (written here, not taken from pricing/, so a wrong format there fails). */
const ogpuText = (wei: bigint) => {
  const fraction = (wei % OGPU).toString().padStart(18, "0").replace(/0+$/, "");
  return `${wei / OGPU}${fraction ? `.${fraction}` : ""}`;
};

/** The one charge of a job: its seconds billed and its amount. */
async function chargeOf(jobId: string): Promise<{ seconds: number; wei: bigint }> {
  const rows = await server.system.db.query(`SELECT run_seconds, amount_wei FROM charges WHERE job_id = $1`, [jobId]);
  expect(rows).toHaveLength(1);
  return { seconds: rows[0].run_seconds, wei: BigInt(rows[0].amount_wei) };
}

const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const JOB = `query J($id: ID!) { job(id: $id) { id status progress cost result { hash agreedBy } assignments { id status attempt replica resumedFromStep cost provider { address } } checkpoints { step sha256 } } }`;
const ME = `query { me { reputation { score completedJobs failedJobs } } }`;

async function pending(provider: Actor, nodeId: string) {
  const r = await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.assignments as { id: string; attempt: number; resumeFrom: { step: number; sha256: string; downloadUrl: string } | null; job: { id: string; env: unknown; command: string[] } }[];
}

async function waitAssignment(provider: Actor, nodeId: string) {
  return eventually(async () => (await pending(provider, nodeId))[0], 10_000, "an assignment");
}

async function job(client: Actor, id: string) {
  const r = await gql(server.url, JOB, { id }, client.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.job;
}

async function checkpoint(provider: Actor, assignmentId: string, step: number, data: Buffer, declared?: { sha256?: string; size?: number }) {
  const r = await gql(server.url, op("CreateCheckpointUpload"), { id: assignmentId, step, sha256: declared?.sha256 ?? sha(data), sizeBytes: String(declared?.size ?? data.length) }, provider.token);
  if (r.errors) return { reserve: r };
  const put = await fetch(r.data!.createCheckpointUpload.uploadUrl, { method: "PUT", body: data, headers: { "content-type": "application/octet-stream" } });
  return { reserve: r, put };
}

async function escrow(who: Actor) {
  const [row] = await server.system.db.query(`SELECT held_wei, spent_wei FROM escrow_balances WHERE account_id = $1`, [who.accountId]);
  return { held: BigInt(row.held_wei), spent: BigInt(row.spent_wei) };
}

describe("a job's life", () => {
  it("runs, streams progress in order, checkpoints, completes, charges the run time at the trade price and releases the hold", async () => {
    const m = freshModel();
    const p = await actor(server);
    const { nodeId } = await onlineOffer(server, p, m.gpu(2), "3.6", 2);
    const client = await actor(server, 100n);
    const submitted = await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "4", maxDurationSeconds: 3600 }) }, client.token);
    const jobId = submitted.data!.submitJob.id as string;

    const ws = wsClient(server.wsUrl, `Bearer ${client.token}`);
    const seen: { status: string; progress: number; message: string | null }[] = [];
    let subscribed!: () => void;
    const current = new Promise<void>((resolve) => (subscribed = resolve));
    // the stream completes by itself after the final state
    const done = new Promise<void>((resolve, reject) => {
      ws.subscribe({ query: op("JobProgress"), variables: { jobId } }, {
        next: (v) => {
          seen.push((v.data as { jobProgress: { status: string; progress: number; message: string | null } }).jobProgress);
          subscribed();
        },
        error: reject,
        complete: resolve,
      });
    });
    // the first frame is the job's current state: the subscription is live once it arrives
    await current;

    const a = await waitAssignment(p, nodeId);
    expect(a.attempt).toBe(1);
    expect(a.resumeFrom).toBeNull();
    expect(a.job.command).toEqual(["python", "serve.py"]);
    const started = await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
    expect(started.data!.startAssignment.status).toBe("RUNNING");
    for (const [i, progress] of [0.25, 0.5, 0.75].entries()) {
      const r = await gql(server.url, op("ReportProgress"), { id: a.id, progress, message: `step ${i + 1}` }, p.token);
      expect(r.errors).toBeUndefined();
    }
    const cp = await checkpoint(p, a.id, 3, Buffer.from("state at step 3"));
    expect(cp.put!.status).toBe(201);
    // 40 s of running pass at once
    clock.advance(40_000);
    const result = sha("the result");
    const completed = await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: result }, p.token);
    expect(completed.data!.completeAssignment).toMatchObject({ status: "COMPLETED", job: { id: jobId, status: "COMPLETED" } });
    const again = await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: result }, p.token);
    expect(again.data!.completeAssignment.status).toBe("COMPLETED");
    expect(codeOf(await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: sha("other") }, p.token))).toBe("CONFLICT");

    await done;
    ws.dispose();
    const statuses = seen.map((e) => e.status);
    expect(statuses.indexOf("RUNNING")).toBeGreaterThanOrEqual(0);
    expect(["PENDING", "MATCHED"]).toContain(statuses[0]);
    expect(statuses.slice(1, statuses.indexOf("RUNNING")).every((x) => x === "MATCHED")).toBe(true);
    expect(statuses.at(-1)).toBe("COMPLETED");
    expect(statuses.filter((x) => x === "COMPLETED")).toHaveLength(1);

    // a subscriber to the ended job gets its final state and the end of the stream
    const late: { status: string; progress: number }[] = [];
    await new Promise<void>((resolve, reject) =>
      ws.subscribe({ query: op("JobProgress"), variables: { jobId } }, {
        next: (v) => void late.push((v.data as { jobProgress: { status: string; progress: number } }).jobProgress),
        error: reject,
        complete: resolve,
      }),
    );
    expect(late).toEqual([expect.objectContaining({ status: "COMPLETED", progress: 1 })]);
    const progresses = seen.filter((e) => e.message?.startsWith("step")).map((e) => e.progress);
    expect(progresses).toEqual([0.25, 0.5, 0.75]);

    const j = await job(client, jobId);
    expect(j).toMatchObject({ status: "COMPLETED", progress: 1, result: { hash: result, agreedBy: 1 }, checkpoints: [{ step: 3, sha256: sha("state at step 3") }] });
    // the 40 s stepped over (and the few the requests took), at 3.6 OGPU per GPU-hour for 1 GPU: 10^15 wei a second
    const charge = await chargeOf(jobId);
    expect(charge.seconds).toBeGreaterThanOrEqual(40);
    expect(charge.seconds).toBeLessThan(40 + 60);
    expect(charge.wei).toBe(BigInt(charge.seconds) * WEI_PER_GPU_SECOND);
    expect(j.cost).toBe(ogpuText(charge.wei));
    expect(j.assignments[0].cost).toBe(j.cost);
    const money = await escrow(client);
    expect(money.held).toBe(0n);
    expect(money.spent).toBe(charge.wei);
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    expect(book.data!.orderBook.asks).toEqual([{ price: "3.6", gpus: 2, orders: 1 }]);
    const me = await gql(server.url, ME, {}, p.token);
    expect(me.data!.me.reputation).toMatchObject({ completedJobs: 1, failedJobs: 0 });
  });

  it("takes a job over from a node whose lease lapsed, resuming from the last whole checkpoint", async () => {
    // leases of 3 s that lapse by the system clock, on a server and database of their own (matching and heartbeats
    // set leases by the system clock: the stepped one would lapse those too); the helpers above serve it meanwhile
    const main = server;
    server = await startTestServer({ ...SETTINGS, LEASE_SECONDS: "3", DATABASE_URL: await privateDatabaseUrl("lapse") });
    try {
      await takeOver();
    } finally {
      await server.stop();
      server = main;
    }
  });

  async function takeOver() {
    const m = freshModel();
    const dead = await actor(server);
    const alive = await actor(server);
    const first = await onlineOffer(server, dead, m.gpu(1), "2", 1);
    const client = await actor(server, 100n);
    const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token)).data!.submitJob.id;
    const a = await waitAssignment(dead, first.nodeId);
    await gql(server.url, op("StartAssignment"), { id: a.id }, dead.token);
    expect((await checkpoint(dead, a.id, 4, Buffer.from("four"))).put!.status).toBe(201);
    const bad = await checkpoint(dead, a.id, 5, Buffer.from("five"), { sha256: sha("not five") });
    expect(bad.put!.status).toBe(400);
    const huge = await checkpoint(dead, a.id, 6, Buffer.alloc(2048));
    expect(codeOf(huge.reserve)).toBe("PAYLOAD_TOO_LARGE");
    const second = await onlineOffer(server, alive, m.gpu(1), "2.5", 1);
    // the dead node stops reporting; its lease (3 s) lapses and the job moves to the other node
    const b = await eventually(async () => (await pending(alive, second.nodeId))[0], 15_000, "the takeover");
    expect(b.attempt).toBe(2);
    expect(b.resumeFrom).toMatchObject({ step: 4, sha256: sha("four") });
    const bytes = Buffer.from(await (await fetch(b.resumeFrom!.downloadUrl)).arrayBuffer());
    expect(bytes.toString()).toBe("four");
    expect((await fetch(b.resumeFrom!.downloadUrl.replace(/signature=[^&]+/, "signature=forged"))).status).toBe(403);
    expect(codeOf(await gql(server.url, op("ReportProgress"), { id: a.id, progress: 0.9 }, dead.token))).toBe("CONFLICT");
    expect(codeOf(await gql(server.url, op("StartAssignment"), { id: b.id }, dead.token))).toBe("FORBIDDEN");
    await gql(server.url, op("StartAssignment"), { id: b.id }, alive.token);
    await gql(server.url, op("CompleteAssignment"), { id: b.id, resultHash: sha("r") }, alive.token);
    const j = await job(client, jobId);
    expect(j.status).toBe("COMPLETED");
    expect(j.assignments.map((x: { status: string; resumedFromStep: number | null }) => [x.status, x.resumedFromStep])).toEqual([["EXPIRED", null], ["COMPLETED", 4]]);
    const deadMe = await gql(server.url, `query { me { reputation { score } } }`, {}, dead.token);
    const aliveMe = await gql(server.url, `query { me { reputation { score } } }`, {}, alive.token);
    expect(deadMe.data!.me.reputation.score).toBeLessThan(aliveMe.data!.me.reputation.score);
  }

  it("accepts the majority of three results, rejects the liar and lowers its reputation", async () => {
    const m = freshModel();
    const providers = [await actor(server), await actor(server), await actor(server)];
    const nodes: string[] = [];
    for (const p of providers) nodes.push((await onlineOffer(server, p, m.gpu(1), "2", 1)).nodeId);
    const client = await actor(server, 100n);
    const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { redundancy: 3 }) }, client.token)).data!.submitJob.id;
    const before = (await gql(server.url, ME, {}, providers[2].token)).data!.me.reputation.score;

    const hashes = [sha("right"), sha("right"), sha("wrong")];
    for (const [i, p] of providers.entries()) {
      const a = await waitAssignment(p, nodes[i]);
      await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
      const r = await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: hashes[i] }, p.token);
      expect(r.errors).toBeUndefined();
    }
    const j = await job(client, jobId);
    expect(j.status).toBe("COMPLETED");
    expect(j.result).toEqual({ hash: sha("right"), agreedBy: 2 });
    const byProvider = Object.fromEntries(j.assignments.map((a: { provider: { address: string }; status: string }) => [a.provider.address, a.status]));
    expect(byProvider[providers[2].wallet.address]).toBe("REJECTED");
    expect(byProvider[providers[0].wallet.address]).toBe("COMPLETED");
    const after = (await gql(server.url, ME, {}, providers[2].token)).data!.me.reputation.score;
    expect(after).toBeLessThan(before);
  });

  it("bills an offer's minDurationSeconds as a minimum, as it was at the trade; a job shorter than it does not match", async () => {
    const m = freshModel();
    const p = await actor(server);
    const { nodeId, offerId } = await onlineOffer(server, p, m.gpu(1), "3.6", 1);
    const setMinimum = async (seconds: number) => {
      const r = await gql(server.url, `mutation U($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { minDurationSeconds } }`, { id: offerId, input: { minDurationSeconds: seconds } }, p.token);
      expect(r.data?.updateOffer.minDurationSeconds).toBe(seconds);
    };
    const client = await actor(server, 100n);
    const runImmediately = async (maxDurationSeconds: number, afterMatch?: () => Promise<void>) => {
      const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "4", maxDurationSeconds }) }, client.token)).data!.submitJob.id as string;
      const a = await waitAssignment(p, nodeId);
      await afterMatch?.();
      await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
      expect((await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: sha("r") }, p.token)).errors).toBeUndefined();
      return job(client, jobId);
    };
    await setMinimum(600);
    // a run of under a second, billed 600 s: 3.6 x 600 / 3600
    expect((await runImmediately(3600)).cost).toBe("0.6");
    // the minimum raised after the trade does not reach it
    expect((await runImmediately(3600, () => setMinimum(1200))).cost).toBe("0.6");
    const [{ n }] = await server.system.db.query(`SELECT sum(run_seconds)::int AS n FROM charges c JOIN jobs j ON j.id = c.job_id WHERE j.client_id = $1`, [client.accountId]);
    expect(n).toBe(600 + 600);
    // the node's provider sees what it earned, not yet settled (no settlement runs in this file)
    const mine = await gql(server.url, op("MyNodes"), {}, p.token);
    expect(mine.data!.myNodes.find((x: { id: string }) => x.id === nodeId).earnings).toEqual({ settled: "0", pending: "1.2" });
    // a job of at most 1,199 s does not match an offer asking for 1,200 s at least: it rests
    const short = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "4", maxDurationSeconds: 1199 }) }, client.token)).data!.submitJob.id as string;
    await eventually(async () => ((await gql(server.url, `query J($id: ID!) { job(id: $id) { status excluded { reason } } }`, { id: short }, client.token)).data!.job.excluded ? true : undefined), 10_000, "the short job resting");
    await gql(server.url, op("CancelJob"), { id: short }, client.token);
  });

  it("cancels a running job: the work done is charged, the rest of the hold released, the GPUs returned", async () => {
    const m = freshModel();
    const p = await actor(server);
    const { nodeId } = await onlineOffer(server, p, m.gpu(2), "3.6", 2);
    const client = await actor(server, 100n);
    const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { gpuCount: 2, maxPricePerGpuHour: "4" }) }, client.token)).data!.submitJob.id;
    const a = await waitAssignment(p, nodeId);
    await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
    clock.advance(25_000);
    const r = await gql(server.url, op("CancelJob"), { id: jobId }, client.token);
    expect(r.data!.cancelJob.status).toBe("CANCELLED");
    const j = await job(client, jobId);
    expect(j.assignments[0].status).toBe("CANCELLED");
    // the 25 s run so far on 2 GPUs is charged; of the hold (4 OGPU x 2 GPUs x 1 hour) nothing else stays held or spent
    const charge = await chargeOf(jobId);
    expect(charge.seconds).toBeGreaterThanOrEqual(25);
    expect(charge.seconds).toBeLessThan(25 + 60);
    expect(charge.wei).toBe(BigInt(charge.seconds) * 2n * WEI_PER_GPU_SECOND);
    expect(j.cost).toBe(ogpuText(charge.wei));
    const money = await escrow(client);
    expect(money.held).toBe(0n);
    expect(money.spent).toBe(charge.wei);
    expect((await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook.asks).toEqual([{ price: "3.6", gpus: 2, orders: 1 }]);
    expect(codeOf(await gql(server.url, op("ReportProgress"), { id: a.id, progress: 0.5 }, p.token))).toBe("CONFLICT");
  });

  it("places a resting job as soon as finished work gives its GPUs back", async () => {
    const m = freshModel();
    const p = await actor(server);
    const { nodeId } = await onlineOffer(server, p, m.gpu(1), "2", 1);
    const client = await actor(server, 100n);
    const first = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token)).data!.submitJob.id;
    const a = await waitAssignment(p, nodeId);
    const second = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token)).data!.submitJob.id;
    await eventually(async () => ((await job(client, second)).status === "PENDING" && (await server.system.db.query(`SELECT resting FROM jobs WHERE id = $1`, [second]))[0].resting ? true : undefined), 10_000, "the second job resting");
    await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
    await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: sha("one") }, p.token);
    expect((await job(client, first)).status).toBe("COMPLETED");
    await eventually(async () => ((await job(client, second)).status === "MATCHED" ? true : undefined), 5_000, "the second job matched on the freed GPU");
  });

  it("fails the job after its attempts and releases the hold", async () => {
    const m = freshModel();
    const client = await actor(server, 100n);
    const ps = [await actor(server), await actor(server), await actor(server)];
    const nodes: string[] = [];
    for (const p of ps) nodes.push((await onlineOffer(server, p, m.gpu(1), "2", 1)).nodeId);
    const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token)).data!.submitJob.id;
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await eventually(async () => {
        for (const [i, p] of ps.entries()) {
          const [a] = await pending(p, nodes[i]);
          if (a) return { a, p };
        }
        return undefined;
      }, 10_000, `attempt ${attempt + 1}`);
      const r = await gql(server.url, op("FailAssignment"), { id: found.a.id, reason: "CUDA out of memory" }, found.p.token);
      expect(r.data!.failAssignment.status).toBe("FAILED");
    }
    const j = await eventually(async () => {
      const x = await job(client, jobId);
      return x.status === "FAILED" ? x : undefined;
    }, 5_000, "the job failed");
    expect(j.assignments).toHaveLength(3);
    expect((await escrow(client)).held).toBe(0n);
  });
});
