import { randomBytes } from "node:crypto";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { SteppedClock } from "../../services/clock";
import { codeOf, gql, signIn, startTestServer, type TestServer } from "../harness";

let server: TestServer;
let other: TestServer;
/** The limiter's time on both instances: a test steps it over a wait instead of sleeping through it. */
const clock = new SteppedClock();
beforeAll(async () => {
  // two instances of one deployment (one queue prefix, one session secret) on one Redis
  const shared = { RATE_LIMIT_PER_MINUTE: "8", QUEUE_PREFIX: `gxrl${randomBytes(3).toString("hex")}`, JWT_SECRET: randomBytes(32).toString("hex") };
  server = await startTestServer(shared, undefined, clock);
  other = await startTestServer(shared, { api: true, worker: false }, clock);
});
afterAll(async () => {
  await other.stop();
  await server.stop();
});

it("answers 429 RATE_LIMITED past the limit per principal, counted in Redis across instances, with a Retry-After after which it admits again", async () => {
  const { token } = await signIn(server.url); // 2 anonymous requests
  // alternating between the instances: a count per process would admit 16
  const statuses: (number | string | undefined)[][] = [];
  for (let i = 0; i < 9; i++) {
    const r = await gql((i % 2 ? other : server).url, "query { regions { id } }", {}, token);
    statuses.push([r.status, codeOf(r)]);
  }
  expect(statuses).toEqual([...Array(8).fill([200, undefined]), [429, "RATE_LIMITED"]]);
  const raw = await fetch(other.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: "{ __typename }" }) });
  expect(raw.status).toBe(429);
  // the window is a minute: the wait is within it, and waiting that long is enough (the clock steps over it)
  const wait = Number(raw.headers.get("retry-after"));
  expect(Number.isInteger(wait) && wait >= 1 && wait <= 61).toBe(true);
  clock.advance(wait * 1000);
  expect((await gql(server.url, "query { regions { id } }", {}, token)).status).toBe(200);
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

