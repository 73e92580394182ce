import { codeOf, gql, signIn, startTestServer, wsClient, wsRequest, type TestServer } from "../harness";
import { op } from "../contract";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const deep = `query Deep { myNodes { offers { node { offers { node { offers { node { offers { node { offers { node { offers { id } } } } } } } } } } } } }`;
const aliases = `query Aliases { ${Array.from({ length: 40 }, (_, i) => `r${i}: regions { id }`).join(" ")} }`;
const huge = `query Huge { regions { ${Array.from({ length: 3000 }, () => "id").join(" ")} } }`;
const costly = `query Costly { offers(first: 100) { edges { node { node { offers { node { offers { id market region } } } } } } } }`;

describe("query limits", () => {
  it.each([
    ["deep", deep, "GRAPHQL_VALIDATION_FAILED", /depth/i],
    ["alias-heavy", aliases, "GRAPHQL_VALIDATION_FAILED", /alias/i],
    ["huge", huge, "GRAPHQL_PARSE_FAILED", /tokens/i],
    ["costly", costly, "GRAPHQL_VALIDATION_FAILED", /(cost|depth)/i],
  ])("refuses a %s query over HTTP", async (_name, query, code, message) => {
    const r = await gql(server.url, query);
    expect(r.status).toBe(400);
    expect(codeOf(r)).toBe(code);
    expect(r.errors![0].message).toMatch(message);
    expect(r.data).toBeUndefined();
  });

  it.each([
    ["deep", deep, /depth/i],
    ["alias-heavy", aliases, /alias/i],
    ["huge", huge, /tokens/i],
  ])("refuses a %s query over WebSocket", async (_name, query, message) => {
    const { token } = await signIn(server.url);
    const client = wsClient(server.wsUrl, token);
    const r = await wsRequest(client, query);
    expect(r.data).toBeUndefined();
    expect(r.errors?.[0].message).toMatch(message);
    expect(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"]).toContain(codeOf(r));
    await client.dispose();
  });

  it("refuses a body over the limit with 413, and batched requests", async () => {
    const res = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }", pad: "x".repeat(200 * 1024) }) });
    expect(res.status).toBe(413);
    const batch = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]) });
    expect(batch.status).toBe(400);
  });

  it("says what is wrong with an unknown field, without internals", async () => {
    const bad = await gql(server.url, `{ nope }`);
    expect(codeOf(bad)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(JSON.stringify(bad)).not.toMatch(/at .*\.ts|stacktrace/);
  });

  it("serves the contract's queries over WebSocket with the same validation of inputs", async () => {
    const client = wsClient(server.wsUrl);
    const r = await wsRequest(client, op("OrderBook"), { market: "nonsense" });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    const v = await wsRequest(client, op("Offers"), { filter: { maxPricePerGpuHour: "-1" } });
    expect(codeOf(v)).toBe("BAD_USER_INPUT");
    await client.dispose();
  });
});

describe("health, readiness and metrics", () => {
  it("answers /healthz and /readyz with Postgres and Redis checked", async () => {
    const base = server.url.replace("/graphql", "");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("reports HTTP and GraphQL timings in Prometheus text", async () => {
    await gql(server.url, op("OrderBook"), { market: "H100-80GB" });
    const text = await (await fetch(server.url.replace("/graphql", "/metrics"))).text();
    expect(text).toMatch(/http_request_duration_seconds_bucket\{.*route="\/graphql"/);
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{operation="OrderBook",type="query",outcome="ok"\} \d+/);
    expect(text).toMatch(/gx_queue_depth\{queue="matching"\} \d+/);
    expect(text).toMatch(/gx_queue_depth\{queue="maintenance"\} \d+/);
    expect(text).toContain("# TYPE gx_jobs gauge");
    expect(text).toContain("# TYPE gx_feed_subscribers gauge");
  });
});
