import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { op } from "../contract";
import { signIn, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ WS_MAX_OPERATIONS_PER_CONNECTION: "2", SESSION_TTL_SECONDS: "5" });
});
afterAll(() => server.stop());

it("refuses operations past the per-connection limit with RATE_LIMITED, and closes a connection with 4403 when its session expires", async () => {
  const { token } = await signIn(server.url);
  let closed: number | undefined;
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { closed: (e) => (closed = (e as { code: number }).code) },
  });
  const errors: string[] = [];
  for (let i = 0; i < 3; i++) {
    client.subscribe(
      { query: op("OrderBookUpdates"), variables: { market: "H100-80GB" } },
      { next: () => undefined, error: (e) => errors.push(JSON.stringify(e)), complete: () => undefined },
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain("RATE_LIMITED");
  await new Promise((r) => setTimeout(r, 6000));
  expect(closed).toBe(4403);
  client.dispose();
}, 20_000);
