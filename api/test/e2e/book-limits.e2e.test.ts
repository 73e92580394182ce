import { actor, freshModel, jobInput } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";

/** Per-account limits of the book, with small settings: a flood stops at the limit with a coded error naming it. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    MAX_NODES_PER_ACCOUNT: "3",
    MAX_OPEN_OFFERS_PER_ACCOUNT: "6",
    MAX_OPEN_OFFERS_PER_MARKET: "4",
    MAX_OFFERS_PER_MINUTE: "8",
    MAX_PENDING_JOBS_PER_ACCOUNT: "5",
  });
});
afterAll(() => server.stop());

const POST = `mutation P($input: PostOfferInput!) { postOffer(input: $input) { id } }`;

async function node(token: string, name: string, gpus: object) {
  return gql(server.url, op("RegisterNode"), { input: { name, region: "eu-central", gpus: [gpus] } }, token);
}

it("nodes: the 4th new node of an account is LIMIT_EXCEEDED naming maxNodesPerAccount, concurrent registrations included; re-registering one is not a new node", async () => {
  const m = freshModel(48);
  const p = await actor(server);
  const results = await Promise.all([...Array(6).keys()].map((i) => node(p.token, `n${i}`, m.gpu(8))));
  const refused = results.filter((r) => r.errors);
  expect(results.length - refused.length).toBe(3);
  for (const r of refused) {
    expect(codeOf(r)).toBe("LIMIT_EXCEEDED");
    expect(r.errors![0].message).toBe("this account has 3 nodes: limit maxNodesPerAccount is 3; register GPUs on an existing node or ask the operator for a higher limit");
  }
  const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM nodes WHERE provider_id = $1`, [p.accountId]);
  expect(n).toBe(3);
  const kept = results.find((r) => !r.errors)!.data!.registerNode;
  const again = await node(p.token, kept.name, m.gpu(8));
  expect(again.errors).toBeUndefined();
});

it("offers: a concurrent flood stops at the per-market, then the per-account limit, then the rate; nothing past them is stored", async () => {
  const p = await actor(server);
  const a = freshModel(48);
  const b = freshModel(48);
  const na = (await node(p.token, "a", a.gpu(64))).data!.registerNode.id;
  const nb = (await node(p.token, "b", b.gpu(64))).data!.registerNode.id;
  const flood = await Promise.all([...Array(7).keys()].map(() => gql(server.url, POST, { input: { nodeId: na, pricePerGpuHour: "1", gpuCount: 1 } }, p.token)));
  expect(flood.filter((r) => !r.errors)).toHaveLength(4);
  for (const r of flood.filter((x) => x.errors)) {
    expect(codeOf(r)).toBe("LIMIT_EXCEEDED");
    expect(r.errors![0].message).toContain(`open offers in ${a.market}: limit maxOpenOffersPerMarket is 4`);
  }
  const inB = await Promise.all([...Array(3).keys()].map(() => gql(server.url, POST, { input: { nodeId: nb, pricePerGpuHour: "1", gpuCount: 1 } }, p.token)));
  expect(inB.filter((r) => !r.errors)).toHaveLength(2);
  expect(inB.find((r) => r.errors)!.errors![0].message).toBe("this account has 6 open offers: limit maxOpenOffersPerAccount is 6; cancel some or resize one with updateOffer");
  const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM offers WHERE provider_id = $1 AND status = 'OPEN'`, [p.accountId]);
  expect(n).toBe(6);
  // cancelling makes room, but posts within a minute are counted too: 6 stored + 2 more = the rate of 8
  const open: { id: string }[] = await server.system.db.query(`SELECT id FROM offers WHERE provider_id = $1 AND status = 'OPEN' ORDER BY ordinal LIMIT 3`, [p.accountId]);
  for (const o of open) expect((await gql(server.url, op("CancelOffer"), { id: o.id }, p.token)).errors).toBeUndefined();
  const more = [];
  for (let i = 0; i < 3; i++) more.push(await gql(server.url, POST, { input: { nodeId: na, pricePerGpuHour: "2", gpuCount: 1 } }, p.token));
  expect(more.filter((r) => !r.errors)).toHaveLength(2);
  expect(codeOf(more[2])).toBe("RATE_LIMITED");
  expect(more[2].errors![0].message).toBe("8 offers posted in the last 60 s: limit maxOffersPerMinute is 8; reprice open offers with updateOffer instead of posting new ones");
});

it("jobs: the 6th pending job of a client is LIMIT_EXCEEDED naming maxPendingJobsPerAccount, holds nothing, and an idempotent or relay path counts the same", async () => {
  const m = freshModel(48);
  const p = await actor(server);
  // a market of the model (an ask above the jobs' cap), so the jobs are valid and rest
  const nodeId = (await node(p.token, "j", m.gpu(8))).data!.registerNode.id;
  expect((await gql(server.url, POST, { input: { nodeId, pricePerGpuHour: "9", gpuCount: 1 } }, p.token)).errors).toBeUndefined();
  const c = await actor(server, 1000n);
  // one after another (concurrent submits of one account are counted in the insert's snapshot: see order-limits.ts)
  const results = [];
  for (let i = 0; i < 8; i++) results.push(await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "1" }) }, c.token));
  expect(results.filter((r) => !r.errors)).toHaveLength(5);
  for (const r of results.filter((x) => x.errors)) {
    expect(codeOf(r)).toBe("LIMIT_EXCEEDED");
    expect(r.errors![0].message).toBe("this account has 5 jobs waiting for offers: limit maxPendingJobsPerAccount is 5; cancel some or wait for them to match");
  }
  const [{ held }] = await server.system.db.query(`SELECT held_wei::text AS held FROM escrow_balances WHERE account_id = $1`, [c.accountId]);
  expect(held).toBe((5n * 10n ** 18n).toString());
  // the path with an idempotency key (a transaction) is refused the same way
  const keyed = await gql(server.url, op("SubmitJob"), { input: { ...jobInput(m.model, { maxPricePerGpuHour: "1" }), idempotencyKey: "k-6" } }, c.token);
  expect(codeOf(keyed)).toBe("LIMIT_EXCEEDED");
  const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [c.accountId]);
  expect(n).toBe(5);
});
