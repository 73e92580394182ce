import WebSocket from "ws";
import { eventually } from "../builders";
import { codeOf, gql, startTestServer, wsClient, wsRequest, type TestServer } from "../harness";

/** A graphql-ws connection made by hand (so close codes and reasons are seen): opened, initialised and acknowledged, or closed. */
function connect(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, "graphql-transport-ws", { headers });
  const state: { acked: boolean; closed?: { code: number; reason: string } } = { acked: false };
  socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: {} })));
  socket.on("message", (data) => {
    if (JSON.parse(String(data)).type === "connection_ack") state.acked = true;
  });
  socket.on("close", (code, reason) => (state.closed = { code, reason: String(reason) }));
  socket.on("error", () => undefined);
  const settled = () => eventually(async () => (state.acked || state.closed ? state : undefined), 10_000, "the connection acknowledged or closed");
  return { socket, state, settled };
}

/** Closes the connections and waits until each saw its close. */
async function closeAll(connections: ReturnType<typeof connect>[]) {
  for (const c of connections) c.socket.close();
  await eventually(async () => (connections.every((c) => c.state.closed) ? true : undefined), 10_000, "every connection closed");
}

describe("WebSocket connection limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_MAX_CONNECTIONS_PER_ADDRESS: "5", WS_IDLE_TIMEOUT_SECONDS: "2" });
  });
  afterAll(() => server.stop());

  it("refuses connections past the per-address limit with 4429 naming it, and takes one again once another closes", async () => {
    const open = Array.from({ length: 5 }, () => connect(server.wsUrl));
    await Promise.all(open.map((c) => c.settled()));
    expect(open.every((c) => c.state.acked && !c.state.closed)).toBe(true);
    // a client-sent X-Forwarded-For is not trusted here (no proxy configured): the same address
    const sixth = connect(server.wsUrl, { "x-forwarded-for": "198.51.100.77" });
    await eventually(async () => sixth.state.closed, 10_000, "the sixth refused");
    expect(sixth.state.closed).toEqual({ code: 4429, reason: "Too many connections: at most 5 from one address" });
    open[0].socket.close();
    await eventually(async () => open[0].state.closed, 10_000, "one closed");
    // the server counts the closed one out when its socket closes, about when the client sees it
    const again = await eventually(async () => {
      const c = connect(server.wsUrl);
      return (await c.settled()).acked ? c : undefined;
    }, 10_000, "a new one served");
    await closeAll([...open, again]);
  });

  it("closes a connection that starts no operation within the idle timeout with 4408, and keeps one that does", async () => {
    const idle = connect(server.wsUrl);
    const busy = connect(server.wsUrl);
    await Promise.all([idle.settled(), busy.settled()]);
    busy.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `subscription { orderBookUpdates(market: "H100-80GB") { sequence } }` } }));
    await eventually(async () => idle.state.closed, 15_000, "the idle connection closed");
    expect(idle.state.closed).toEqual({ code: 4408, reason: "Idle: no operation started within 2 s" });
    // one opened after the busy one is closed idle in turn: by then the busy one's timer would have fired too
    const later = connect(server.wsUrl);
    await eventually(async () => later.state.closed, 15_000, "the later idle connection closed");
    expect(later.state.closed?.code).toBe(4408);
    expect(busy.state.closed).toBeUndefined();
    await closeAll([busy]);
  }, 30_000);
});

describe("behind a trusted proxy", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY_HOPS: "1", WS_MAX_CONNECTIONS_PER_ADDRESS: "2", RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(() => server.stop());

  it("counts WebSocket connections by the address the proxy saw, as HTTP rate limits do", async () => {
    const a = [connect(server.wsUrl, { "x-forwarded-for": "198.51.100.1" }), connect(server.wsUrl, { "x-forwarded-for": "198.51.100.1" })];
    await Promise.all(a.map((c) => c.settled()));
    expect(a.every((c) => c.state.acked)).toBe(true);
    // entries left of the trusted hop are the client's own words: the address is still the proxy's view
    const spoofed = connect(server.wsUrl, { "x-forwarded-for": "203.0.113.5, 198.51.100.1" });
    expect((await spoofed.settled()).closed?.code).toBe(4429);
    const other = connect(server.wsUrl, { "x-forwarded-for": "198.51.100.2" });
    expect((await other.settled()).acked).toBe(true);
    await closeAll([...a, other, spoofed]);

    const post = (address: string) => fetch(server.url, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": address }, body: JSON.stringify({ query: "{ __typename }" }) });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post("198.51.100.3")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await post("198.51.100.4")).status).toBe(200);
    expect((await post("203.0.113.5, 198.51.100.3")).status).toBe(429);
  });
});

describe("in production", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: "production", JWT_SECRET: "p".repeat(40) });
  });
  afterAll(() => server.stop());

  const introspection = `{ __schema { queryType { name } } }`;
  const misspelt = `{ regoins { id } }`;

  it("refuses introspection over HTTP and WebSocket alike", async () => {
    const http = await gql(server.url, introspection);
    expect(codeOf(http)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(http.errors![0].message).toMatch(/introspection/i);
    const client = wsClient(server.wsUrl);
    const ws = await wsRequest(client, introspection);
    expect(codeOf(ws)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(ws.errors![0].message).toBe(http.errors![0].message);
    const typed = await wsRequest(client, `{ __type(name: "Offer") { fields { name } } }`);
    expect(codeOf(typed)).toBe("GRAPHQL_VALIDATION_FAILED");
    await client.dispose();
  });

  it("suggests no field names over HTTP or WebSocket", async () => {
    const http = await gql(server.url, misspelt);
    const client = wsClient(server.wsUrl);
    const ws = await wsRequest(client, misspelt);
    await client.dispose();
    expect(http.errors![0].message).toBe('Cannot query field "regoins" on type "Query".');
    expect(ws.errors![0].message).toBe(http.errors![0].message);
    expect(codeOf(ws)).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});

describe("with the defaults, outside production", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it("takes 200 connections from one address and refuses the 201st, naming the limit", async () => {
    const open: ReturnType<typeof connect>[] = [];
    for (let i = 0; i < 200; i++) open.push(connect(server.wsUrl));
    await Promise.all(open.map((c) => c.settled()));
    expect(open.filter((c) => c.state.acked && !c.state.closed)).toHaveLength(200);
    const extra = connect(server.wsUrl);
    expect((await extra.settled()).closed).toEqual({ code: 4429, reason: "Too many connections: at most 200 from one address" });
    await closeAll(open);
  }, 60_000);

  it("serves introspection on both transports, still without suggestions", async () => {
    const query = `{ __type(name: "Offer") { name } }`;
    expect((await gql(server.url, query)).data).toEqual({ __type: { name: "Offer" } });
    const client = wsClient(server.wsUrl);
    expect((await wsRequest(client, query)).data).toEqual({ __type: { name: "Offer" } });
    const ws = await wsRequest(client, `{ regoins { id } }`);
    await client.dispose();
    expect(ws.errors![0].message).not.toMatch(/Did you mean/);
  });
});
