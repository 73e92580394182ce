import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { codeOf, gql, signIn, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_PER_MINUTE: "8" });
});
afterAll(() => server.stop());

it("answers 429 RATE_LIMITED with Retry-After past the limit per principal, counted in Redis", async () => {
  const { token } = await signIn(server.url); // 2 anonymous requests
  const results = [];
  for (let i = 0; i < 9; i++) results.push(await gql(server.url, "query { regions { id } }", {}, token));
  expect(results.slice(0, 8).every((r) => r.status === 200 && !r.errors)).toBe(true);
  expect(results[8].status).toBe(429);
  expect(codeOf(results[8])).toBe("RATE_LIMITED");
  const raw = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: "{ __typename }" }) });
  expect(raw.status).toBe(429);
  expect(Number(raw.headers.get("retry-after"))).toBeGreaterThan(0);
  // another principal has its own count
  const anonymous = await gql(server.url, "query { regions { id } }");
  expect(anonymous.status).toBe(200);
});

it("counts WebSocket operations against the same per-minute allowance as HTTP", async () => {
  const { token } = await signIn(server.url);
  const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
  const outcomes: string[] = [];
  for (let i = 0; i < 9; i++) {
    outcomes.push(
      await new Promise<string>((resolve) =>
        client.subscribe({ query: "{ __typename }" }, { next: () => resolve("ok"), error: (e) => resolve(JSON.stringify(e).includes("RATE_LIMITED") ? "limited" : JSON.stringify(e)), complete: () => undefined }),
      ),
    );
  }
  expect(outcomes).toEqual([...Array(8).fill("ok"), "limited"]);
  // and the account's HTTP requests are over the limit too
  expect((await gql(server.url, "{ __typename }", {}, token)).status).toBe(429);
  await client.dispose();
});

it("counts a principal however its header is spelled, and anonymous guesses of keys by address", async () => {
  const { token } = await signIn(server.url); // 2 anonymous requests
  const spellings = [`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token}`, token];
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: spellings[i % spellings.length] }, body: JSON.stringify({ query: "{ __typename }" }) });
    statuses.push(r.status);
  }
  expect(statuses.slice(0, 8).every((s) => s === 200)).toBe(true);
  expect(statuses.slice(8)).toEqual([429, 429, 429, 429]);
  // made-up keys are no principal: they share the address's count (already used by the sign-ins and anonymous requests above)
  const guesses: number[] = [];
  for (let i = 0; i < 10; i++) guesses.push((await fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer gx_guess${i}_nope` }, body: JSON.stringify({ query: "{ __typename }" }) })).status);
  expect(guesses).toContain(429);
});

