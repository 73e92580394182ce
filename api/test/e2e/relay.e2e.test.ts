import { createHash } from "node:crypto";
import { actor, eventually, freshModel, onlineOffer } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";

let server: TestServer;
const ADMIN = { user: "ops", password: "a-long-admin-password" };
beforeAll(async () => {
  server = await startTestServer({ ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, OGPU_USD_RATE: "0.5", OFFER_EXPIRY_SWEEP_MS: "200" });
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

async function enterprise(usd: string, ogpu = 100n) {
  const who = await actor(server, ogpu);
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
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [e.accountId]);
    expect(n).toBe(1);
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
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [poor.accountId]);
    expect(n).toBe(0);
    expect((await relay("GET", "/relay/v1/usage", poor.apiKey)).body).toMatchObject({ heldUsd: "0", balanceUsd: "1" });
    expect((await relay("POST", "/relay/v1/jobs", poor.apiKey, { ...jobBody(m.model), requirements: { ...jobBody(m.model).requirements, maxPriceUsdPerGpuHour: "abc" } }, "k3")).status).toBe(400);
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
    await new Promise((r) => setTimeout(r, 2100));
    await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: createHash("sha256").update("x").digest("hex") }, provider.token);
    const job = await eventually(async () => {
      const r = await relay("GET", `/relay/v1/jobs/${created.body.id}`, e.apiKey);
      return r.body.costUsd !== null ? r.body : undefined;
    }, 10_000, "the USD charge");
    expect(job.status).toBe("COMPLETED");
    const costWei = BigInt(Math.round(Number(job.costOgpu) * 1e12)) * 10n ** 6n;
    const expectedMicros = (costWei * 500_000n) / 10n ** 18n;
    expect(BigInt(Math.round(Number(job.costUsd) * 1e6))).toBe(expectedMicros);
    const usage = await relay("GET", "/relay/v1/usage", e.apiKey);
    expect(usage.body).toMatchObject({ heldUsd: "0", spentUsd: job.costUsd });
    expect(usage.body.charges[0]).toMatchObject({ jobId: created.body.id, usd: job.costUsd });
    const stranger = await enterprise("1");
    expect((await relay("GET", `/relay/v1/jobs/${created.body.id}`, stranger.apiKey)).status).toBe(403);
  });
});
