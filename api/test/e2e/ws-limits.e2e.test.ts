import { createClient } from "graphql-ws";
import { Wallet } from "ethers";
import WebSocket from "ws";
import { op } from "../contract";
import { eventually } from "../builders";
import { AUTH_CHALLENGE, gql, SIGN_IN, signIn, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ WS_MAX_OPERATIONS_PER_CONNECTION: "2", SESSION_TTL_SECONDS: "5" });
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.dispose()));
  await server.stop();
});
const wallet = Wallet.createRandom();
const opened: ReturnType<typeof createClient>[] = [];

it("refuses operations past the per-connection limit with RATE_LIMITED, and closes a connection with 4403 when its session expires", async () => {
  const challenge = (await gql(server.url, AUTH_CHALLENGE, { address: wallet.address })).data!.authChallenge.message as string;
  const session = (await gql(server.url, SIGN_IN, { message: challenge, signature: await wallet.signMessage(challenge) })).data!.signIn as { token: string; expiresAt: string };
  let onClosed!: (end: { code: number; at: number }) => void;
  const closed = new Promise<{ code: number; at: number }>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${session.token}` },
    on: { closed: (e) => onClosed({ code: (e as { code: number }).code, at: Date.now() }) },
  });
  opened.push(client);
  const outcomes = [0, 1, 2].map(() => collect(client, op("OrderBookUpdates"), { market: "H100-80GB" }));
  // the third is refused; the first two are live (counted on the server) and not refused
  await eventually(async () => (outcomes[2].errors.length > 0 ? true : undefined), 10_000, "the third operation refused");
  await eventually(async () => (server.system.app!.subscribers().orderBookUpdates === 2 ? true : undefined), 10_000, "two live operations");
  expect(outcomes.map((o) => o.errors.length)).toEqual([0, 0, 1]);
  expect(outcomes[2].errors[0]).toContain("RATE_LIMITED");
  // the session ends (SESSION_TTL_SECONDS: 5): the server closes the connection with 4403, and not before the expiry
  const end = await closed;
  expect(end.code).toBe(4403);
  expect(end.at).toBeGreaterThanOrEqual(new Date(session.expiresAt).getTime());
  await eventually(async () => (Object.keys(server.system.app!.subscribers()).length === 0 ? true : undefined), 5000, "its operations counted out");
}, 30_000);

function collect(client: ReturnType<typeof createClient>, query: string, variables: Record<string, unknown> = {}) {
  const got = { errors: [] as string[], next: 0 };
  client.subscribe({ query, variables }, { next: () => got.next++, error: (e) => got.errors.push(JSON.stringify(e)), complete: () => undefined });
  return got;
}

it("refuses a subscription whose root field is under @skip or @include for its id only, and counts every operation out when the connection ends", async () => {
  let closed: number | undefined;
  const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, on: { closed: (e) => (closed = (e as { code: number }).code) } });
  const skipped = collect(client, `subscription { orderBookUpdates(market: "H100-80GB") @skip(if: true) { sequence } }`);
  const included = collect(client, `subscription S($s: Boolean!) { orderBookUpdates(market: "H100-80GB") @include(if: $s) { sequence } }`, { s: false });
  await eventually(async () => (skipped.errors.length && included.errors.length ? true : undefined), 5000, "both refused");
  expect(skipped.errors[0]).toContain("GRAPHQL_VALIDATION_FAILED");
  expect(included.errors[0]).toContain("GRAPHQL_VALIDATION_FAILED");
  const live = collect(client, op("OrderBookUpdates"), { market: "H100-80GB" });
  await eventually(async () => (server.system.app!.subscribers().orderBookUpdates === 1 ? true : undefined), 5000, "one live subscriber counted");
  expect(closed).toBeUndefined();
  expect(live.errors).toEqual([]);
  await client.dispose();
  await eventually(async () => (Object.keys(server.system.app!.subscribers()).length === 0 ? true : undefined), 5000, "every operation counted out");
});

it("ends a connection made with an API key once the key is revoked: a new operation is refused and the socket closes with 4403", async () => {
  const { token } = await signIn(server.url);
  const key = (await gql(server.url, op("CreateApiKey"), { name: "ws" }, token)).data!.createApiKey;
  let closed: number | undefined;
  const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key.secret}` }, on: { closed: (e) => (closed = (e as { code: number }).code) } });
  const before = collect(client, `query { me { address } }`);
  await eventually(async () => (before.next === 1 ? true : undefined), 5000, "the key works");
  expect((await gql(server.url, op("RevokeApiKey"), { id: key.apiKey.id }, token)).errors).toBeUndefined();
  const after = collect(client, `query { me { address } }`);
  await eventually(async () => (closed === 4403 ? true : undefined), 5000, "the connection closed");
  expect(after.next).toBe(0);
  client.dispose();
});

