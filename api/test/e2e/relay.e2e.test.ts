import { createHash } from "node:crypto";
import { Wallet } from "ethers";
import { formatDecimal } from "../../../pricing";
import { creditEscrow, escrowBalance } from "../../db/repositories/escrow.repository";
import { actor, eventually, freshModel, onlineOffer } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";
import { runAdmin } from "../../../scripts/admin";
import { SteppedClock } from "../../services/clock";

let server: TestServer;
let treasuryId: string;
const ADMIN = { user: "ops", password: "a-long-admin-password" };
/** The operator's OGPU treasury: 100 OGPU in escrow funds every relay job of these tests. */
const TREASURY = Wallet.createRandom().address;
const TREASURY_OGPU = 100n;
/** The time the server bills by: a test steps it over the run time it charges (leases of 10 minutes never lapse in its steps). */
const clock = new SteppedClock();
beforeAll(async () => {
  server = await startTestServer({ ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, OGPU_USD_RATE: "0.5", OFFER_EXPIRY_SWEEP_MS: "200", RELAY_TREASURY_ADDRESS: TREASURY, LEASE_SECONDS: "600" }, undefined, clock);
  [{ id: treasuryId }] = await server.system.db.query(`INSERT INTO accounts (address) VALUES ($1) RETURNING id`, [TREASURY.toLowerCase()]);
  await creditEscrow(server.system.db, treasuryId, TREASURY_OGPU * 10n ** 18n);
});
afterAll(() => server.stop());

const base = () => server.url.replace("/graphql", "");
const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;

async function relay(method: string, path: string, key: string | undefined, body?: unknown, idem?: string) {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...(idem ? { "idempotency-key": idem } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A relay client: an account with an API key and USD credit, and no OGPU at all. */
async function enterprise(usd: string) {
  const who = await actor(server);
  const key = (await gql(server.url, op("CreateApiKey"), { name: "relay" }, who.token)).data!.createApiKey;
  const credit = await fetch(`${base()}/admin/usd-credits`, { method: "POST", headers: { "content-type": "application/json", authorization: basic }, body: JSON.stringify({ address: who.wallet.address, usd }) });
  expect(credit.status).toBe(201);
  return { ...who, apiKey: key.secret as string, apiKeyId: key.apiKey.id as string };
}

const jobBody = (model: string, usd = "1.5") => ({
  kind: "BATCH",
  command: ["true"],
  requirements: { gpuCount: 1, minVramGb: 40, gpuModels: [model], maxPriceUsdPerGpuHour: usd, maxDurationSeconds: 3600 },
});

/** An amount in units of 10^-`places` as the API spells it (written here, not taken from pricing/). */
function decimalText(units: bigint, places: number): string {
  const one = 10n ** BigInt(places);
  const fraction = (units % one).toString().padStart(places, "0").replace(/0+$/, "");
  return `${units / one}${fraction ? `.${fraction}` : ""}`;
}

describe("the relay", () => {
  it("makes one job of 20 concurrent POSTs with one Idempotency-Key, and refuses the key with another body", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("10");
    const results = await Promise.all(Array.from({ length: 20 }, () => relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model), "order-1")));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results[0].body.quote).toEqual({ usdPerGpuHour: "1.5", maxUsd: "1.5", usdPerOgpu: "0.5" });
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM relay_jobs WHERE account_id = $1`, [e.accountId]);
    expect(n).toBe(1);
    // on the book the treasury is the client and holds the OGPU (1.5 USD / 0.5 = 3 OGPU for one GPU-hour)
    const [job] = await server.system.db.query(`SELECT client_id, hold_wei FROM jobs WHERE id = $1`, [results[0].body.id]);
    expect(job).toEqual({ client_id: treasuryId, hold_wei: (3n * 10n ** 18n).toString() });
    const usage = await relay("GET", "/relay/v1/usage", e.apiKey);
    expect(usage.body).toMatchObject({ creditedUsd: "10", heldUsd: "1.5", balanceUsd: "8.5" });
    const other = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "2"), "order-1");
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("CONFLICT");
  });

  it("refuses an unknown or revoked key (401) and a balance too small (402), storing nothing", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    expect((await relay("POST", "/relay/v1/jobs", "gx_deadbeef_nope", jobBody(m.model), "k")).status).toBe(401);
    const e = await enterprise("1");
    await gql(server.url, op("RevokeApiKey"), { id: e.apiKeyId }, e.token);
    const revoked = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model), "k");
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe("UNAUTHENTICATED");
    const poor = await enterprise("1");
    const r = await relay("POST", "/relay/v1/jobs", poor.apiKey, jobBody(m.model, "2"), "k2");
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe("INSUFFICIENT_FUNDS");
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM relay_jobs WHERE account_id = $1`, [poor.accountId]);
    expect(n).toBe(0);
    expect((await relay("GET", "/relay/v1/usage", poor.apiKey)).body).toMatchObject({ heldUsd: "0", balanceUsd: "1" });
    expect((await relay("POST", "/relay/v1/jobs", poor.apiKey, { ...jobBody(m.model), requirements: { ...jobBody(m.model).requirements, maxPriceUsdPerGpuHour: "abc" } }, "k3")).status).toBe(400);
  });

  it("types the body as GraphQL would: a wrong type, an unknown field, NUL or an amount too large is 400 before any USD is held, never a 500", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("1");
    const base = jobBody(m.model, "1");
    const withReq = (r: Record<string, unknown>) => ({ ...base, requirements: { ...base.requirements, ...r } });
    const bad: [string, unknown][] = [
      ["command as a string", { ...base, command: "rm -rf /" }],
      ["command of numbers", { ...base, command: [1, 2] }],
      ["image as a number", { ...base, image: 5 }],
      ["image with NUL", { ...base, image: "py\u0000thon" }],
      ["inputUri with NUL", { ...base, inputUri: "https://x/\u0000" }],
      ["env as an object", { ...base, env: { A: "1" } }],
      ["env without a value", { ...base, env: [{ name: "A" }] }],
      ["an unknown field", { ...base, priority: "high" }],
      ["gpuModels as a string", withReq({ gpuModels: "H100" })],
      ["region as a number", withReq({ region: 5 })],
      ["a strategy that is not one", withReq({ strategy: "FREE" })],
      ["gpuCount as a float", withReq({ gpuCount: 1.5 })],
      ["a duration beyond the balance and the limit", withReq({ maxDurationSeconds: 1e12 })],
      ["GPUs beyond the balance and the limit", withReq({ gpuCount: 1e9 })],
      ["a price beyond any bigint", withReq({ maxPriceUsdPerGpuHour: "99999999999999999999999" })],
      ["the OGPU cap", { ...base, requirements: { ...base.requirements, maxPricePerGpuHour: "1" } }],
      ["no body object", [base]],
    ];
    for (const [what, body] of bad) {
      const r = await relay("POST", "/relay/v1/jobs", e.apiKey, body, `bad-${what}`);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({ what, status: 400, code: "BAD_USER_INPUT" });
    }
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM relay_jobs WHERE account_id = $1`, [e.accountId]);
    expect(n).toBe(0);
    expect((await relay("GET", "/relay/v1/usage", e.apiKey)).body).toMatchObject({ heldUsd: "0", balanceUsd: "1" });
    // what express refuses, and routes that do not exist, answer in the relay's shape too
    const notJson = await fetch(`${server.url.replace("/graphql", "")}/relay/v1/jobs`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${e.apiKey}`, "idempotency-key": "x" }, body: "{nope" });
    expect({ status: notJson.status, body: await notJson.json() }).toEqual({ status: 400, body: { error: { code: "BAD_USER_INPUT", message: "the body is not valid JSON" } } });
    const nowhere = await relay("GET", "/relay/v1/nope", e.apiKey);
    expect({ status: nowhere.status, code: nowhere.body.error.code }).toEqual({ status: 404, code: "NOT_FOUND" });
  });

  it("takes the same job retried with its fields in another order, a price spelled 1.50 or a default spelled out as the same request", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("10");
    const first = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1.5"), "same-1");
    expect(first.status).toBe(201);
    const { requirements, ...rest } = jobBody(m.model, "1.5");
    const respelled = { requirements: { maxDurationSeconds: requirements.maxDurationSeconds, redundancy: 1, maxPriceUsdPerGpuHour: "1.50", gpuModels: requirements.gpuModels, minVramGb: requirements.minVramGb, gpuCount: 1 }, command: rest.command, kind: rest.kind };
    const again = await relay("POST", "/relay/v1/jobs", e.apiKey, respelled, "same-1");
    expect({ status: again.status, id: again.body.id }).toEqual({ status: 200, id: first.body.id });
  });

  it("charges in USD the job's OGPU cost at the rate quoted when it was submitted", async () => {
    const m = freshModel();
    const provider = await actor(server);
    const { nodeId } = await onlineOffer(server, provider, m.gpu(1), "2", 1);
    const e = await enterprise("10");
    const created = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1.5"), "run-1");
    expect(created.status).toBe(201);
    const a = await eventually(async () => (await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).data!.assignments[0], 10_000, "the assignment");
    await gql(server.url, op("StartAssignment"), { id: a.id }, provider.token);
    // 37 s of running pass at once
    clock.advance(37_000);
    await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: createHash("sha256").update("x").digest("hex") }, provider.token);
    const job = await eventually(async () => {
      const r = await relay("GET", `/relay/v1/jobs/${created.body.id}`, e.apiKey);
      return r.body.costUsd !== null ? r.body : undefined;
    }, 10_000, "the USD charge");
    expect(job.status).toBe("COMPLETED");
    // worked out here in bigint from the seconds billed: 2 OGPU per GPU-hour for 1 GPU is 2 x 10^18 / 3600 wei a second,
    // rounded down once; at 0.5 USD per OGPU, USD micros are wei x 500,000 / 10^18, rounded down (never above the hold)
    const [{ run_seconds: seconds }] = await server.system.db.query(`SELECT run_seconds FROM charges WHERE job_id = $1`, [created.body.id]);
    expect(seconds).toBeGreaterThanOrEqual(37);
    expect(seconds).toBeLessThan(37 + 60);
    const costWei = (2n * 10n ** 18n * BigInt(seconds)) / 3600n;
    const usdMicros = (costWei * 500_000n) / 10n ** 18n;
    expect(job.costOgpu).toBe(decimalText(costWei, 18));
    expect(job.costUsd).toBe(decimalText(usdMicros, 6));
    const usage = await relay("GET", "/relay/v1/usage", e.apiKey);
    expect(usage.body).toMatchObject({ heldUsd: "0", spentUsd: job.costUsd });
    expect(usage.body.charges[0]).toMatchObject({ jobId: created.body.id, usd: job.costUsd });
    const stranger = await enterprise("1");
    expect((await relay("GET", `/relay/v1/jobs/${created.body.id}`, stranger.apiKey)).status).toBe(403);
    // the key's account reads its relay job over GraphQL too (the key is a GraphQL credential); others may not
    const viaGraphql = await gql(server.url, op("Job"), { id: created.body.id }, e.apiKey);
    expect(viaGraphql.data!.job).toMatchObject({ id: created.body.id, status: "COMPLETED" });
    expect((await gql(server.url, op("Job"), { id: created.body.id }, stranger.apiKey)).errors![0].extensions!.code).toBe("FORBIDDEN");
    // the OGPU went from the treasury, never from the client, who pays in USD only
    expect(formatDecimal((await escrowBalance(server.system.db, treasuryId)).spentWei)).toBe(job.costOgpu);
    expect((await escrowBalance(server.system.db, e.accountId)).availableWei).toBe(0n);
  });

  it("cancels a relay job with DELETE: the USD hold comes back, nothing is charged; only the key's account may", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1); // above the cap: the job rests
    const e = await enterprise("10");
    const created = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1.5"), "cancel-1");
    expect(created.status).toBe(201);
    const stranger = await enterprise("1");
    expect((await relay("DELETE", `/relay/v1/jobs/${created.body.id}`, stranger.apiKey)).status).toBe(403);
    expect((await relay("DELETE", "/relay/v1/jobs/00000000-0000-4000-8000-000000000000", e.apiKey)).status).toBe(404);
    const cancelled = await relay("DELETE", `/relay/v1/jobs/${created.body.id}`, e.apiKey);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("CANCELLED");
    expect((await relay("DELETE", `/relay/v1/jobs/${created.body.id}`, e.apiKey)).body.status).toBe("CANCELLED");
    const usage = await eventually(async () => {
      const u = (await relay("GET", "/relay/v1/usage", e.apiKey)).body;
      return u.heldUsd === "0" ? u : undefined;
    }, 10_000, "the USD hold released");
    expect(usage).toMatchObject({ balanceUsd: "10", spentUsd: "0" });
    expect((await relay("GET", `/relay/v1/jobs/${created.body.id}`, e.apiKey)).body.costUsd).toBe("0");
  });

  it("answers 503 UNAVAILABLE, storing nothing and holding no USD, when the treasury cannot hold the job", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "300", 1);
    const e = await enterprise("1000");
    // 100 USD an hour at 0.5 USD/OGPU: 200 OGPU for the hour, more than the treasury's 100
    const r = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "100"), "big-1");
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("UNAVAILABLE");
    expect(r.body.error.message).toMatch(/treasury/);
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM relay_jobs WHERE account_id = $1`, [e.accountId]);
    expect(n).toBe(0);
    expect((await relay("GET", "/relay/v1/usage", e.apiKey)).body).toMatchObject({ heldUsd: "0", balanceUsd: "1000" });
  });
});

describe("the relay's OGPU/USD rate and the admin command", () => {
  const admin = (...args: string[]) => runAdmin(args, { GX_URL: base(), ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password });

  it("credits and feeds a rate with `npm run admin`; new jobs are quoted at the fed rate, earlier ones keep theirs", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("5");
    const before = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1"), "rate-1");
    expect(before.body.quote.usdPerOgpu).toBe("0.5");

    const credited = await admin("usd-credit", e.wallet.address, "20", "invoice 7");
    expect(credited.code).toBe(0);
    expect(JSON.parse(credited.output).balanceUsd).toBe("24"); // 5 + 20 - the 1 USD held
    expect((await admin("usd-rate", "0.25", "test feed")).code).toBe(0);
    const shown = await admin("usd-rate");
    expect(JSON.parse(shown.output)).toMatchObject({ usdPerOgpu: "0.25", source: "test feed" });

    const after = await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1"), "rate-2");
    expect(after.body.quote).toEqual({ usdPerGpuHour: "1", maxUsd: "1", usdPerOgpu: "0.25" });
    // 1 USD an hour is 4 OGPU at 0.25, 2 OGPU at 0.5: each job keeps the rate of its moment
    const caps = await server.system.db.query(`SELECT id, max_price_wei FROM jobs WHERE id = ANY($1)`, [[before.body.id, after.body.id]]);
    const cap = (id: string) => BigInt(caps.find((c: { id: string }) => c.id === id).max_price_wei);
    expect(cap(before.body.id)).toBe(2n * 10n ** 18n);
    expect(cap(after.body.id)).toBe(4n * 10n ** 18n);
    expect((await relay("GET", `/relay/v1/jobs/${before.body.id}`, e.apiKey)).body.quote.usdPerOgpu).toBe("0.5");
    expect((await relay("GET", "/relay/v1/usage", e.apiKey)).body.usdPerOgpu).toBe("0.25");
    await server.system.db.query(`DELETE FROM usd_rates WHERE source = 'test feed'`);
  });

  it("stops quoting at a fed rate older than USD_RATE_MAX_AGE_SECONDS (a feed that stopped): the standing rate prices jobs again", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("5");
    expect((await admin("usd-rate", "0.2", "stale-feed")).code).toBe(0);
    expect((await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1"), "stale-1")).body.quote.usdPerOgpu).toBe("0.2");
    await server.system.db.query(`UPDATE usd_rates SET created_at = now() - interval '2 hours' WHERE source = 'stale-feed'`);
    expect((await relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model, "1"), "stale-2")).body.quote.usdPerOgpu).toBe("0.5");
    expect(JSON.parse((await admin("usd-rate")).output)).toMatchObject({ usdPerOgpu: "0.5", source: "configured (OGPU_USD_RATE)" });
    await server.system.db.query(`DELETE FROM usd_rates WHERE source = 'stale-feed'`);
  });

  it("refuses bad rates and credits (400, nothing stored), wrong credentials (401), and bad usage", async () => {
    const [{ n: rates }] = await server.system.db.query(`SELECT count(*)::int AS n FROM usd_rates`);
    for (const bad of [["usd-rate", "0"], ["usd-rate", "-1"], ["usd-rate", "abc"], ["usd-rate", "0.1234567"], ["usd-rate", "1", "x".repeat(101)], ["usd-credit", "0x123", "5"], ["usd-credit", Wallet.createRandom().address, "0"]]) {
      const r = await admin(...bad);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.output).error.code).toBe("BAD_USER_INPUT");
    }
    const [{ n: after }] = await server.system.db.query(`SELECT count(*)::int AS n FROM usd_rates`);
    expect(after).toBe(rates);
    const wrong = await runAdmin(["usd-rate"], { GX_URL: base(), ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: "not-the-password" });
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.output).error.code).toBe("UNAUTHENTICATED");
    expect((await admin("usd-credit")).code).toBe(2);
    expect((await runAdmin(["usd-rate"], { GX_URL: base() })).code).toBe(2);
  });

  it("answers 30 bursts of 20 concurrent submits from one new key (no USD) at once, leaving no connection idle in a transaction and the instance ready", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "9", 1);
    const e = await enterprise("0.01");
    const statuses = new Map<number, number>();
    for (let round = 0; round < 30; round++) {
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => relay("POST", "/relay/v1/jobs", e.apiKey, jobBody(m.model), `burst-${round}-${i}`)));
      for (const r of burst) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    // every request answered, each as the client's own problem (no balance), none a 500 or a hang
    expect(Object.fromEntries(statuses)).toEqual({ 402: 600 });
    // none left idle in a transaction (the bug held them for minutes); a background transaction between two of its
    // statements is idle in transaction for an instant, so a stuck one is one that does not go away
    const idle = await eventually(async () => {
      const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
      return n === 0 ? n : undefined;
    }, 10_000, "no connection idle in a transaction");
    expect(idle).toBe(0);
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
  });
});
