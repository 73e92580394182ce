import { SiweMessage } from "siwe";
import { Wallet } from "ethers";
import { AUTH_CHALLENGE, codeOf, gql, signIn, SIGN_IN, startTestServer, wsClient, wsRequest, type TestServer } from "../harness";
import { op } from "../contract";

const MY_NODES = op("MyNodes");
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function challengeFor(wallet: { address: string }) {
  const r = await gql(server.url, op("AuthChallenge"), { address: wallet.address });
  expect(r.errors).toBeUndefined();
  return r.data!.authChallenge as { message: string; nonce: string; expiresAt: string };
}

describe("wallet sign-in", () => {
  it("signs in with an ethers wallet, and the session works over HTTP", async () => {
    const wallet = Wallet.createRandom();
    const challenge = await challengeFor(wallet);
    expect(challenge.message).toContain(wallet.address);
    expect(challenge.message).toContain(`Nonce: ${challenge.nonce}`);
    expect(challenge.message).toContain(`${new URL(server.system.config.PUBLIC_URL).host} wants you to sign in`);
    const r = await gql(server.url, op("SignIn"), { message: challenge.message, signature: await wallet.signMessage(challenge.message) });
    expect(r.errors).toBeUndefined();
    expect(r.data!.signIn.address).toBe(wallet.address);
    const mine = await gql(server.url, MY_NODES, {}, r.data!.signIn.token);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.myNodes).toEqual([]);
  });

  it("refuses a replayed sign-in", async () => {
    const wallet = Wallet.createRandom();
    const { message } = await challengeFor(wallet);
    const signature = await wallet.signMessage(message);
    expect((await gql(server.url, SIGN_IN, { message, signature })).data?.signIn.token).toBeTruthy();
    const replay = await gql(server.url, SIGN_IN, { message, signature });
    expect(codeOf(replay)).toBe("UNAUTHENTICATED");
    expect(replay.data).toBeNull();
  });

  it("refuses two concurrent sign-ins with one challenge but one", async () => {
    const wallet = Wallet.createRandom();
    const { message } = await challengeFor(wallet);
    const signature = await wallet.signMessage(message);
    const results = await Promise.all(Array.from({ length: 8 }, () => gql(server.url, SIGN_IN, { message, signature })));
    expect(results.filter((r) => r.data?.signIn).length).toBe(1);
    expect(results.filter((r) => codeOf(r) === "UNAUTHENTICATED").length).toBe(7);
  });

  it("refuses an expired challenge (message expired, or nonce expired on the server)", async () => {
    const wallet = Wallet.createRandom();
    const { message, nonce } = await challengeFor(wallet);
    const parsed = new SiweMessage(message);
    parsed.expirationTime = new Date(Date.now() - 1000).toISOString();
    const expiredText = parsed.prepareMessage();
    const r1 = await gql(server.url, SIGN_IN, { message: expiredText, signature: await wallet.signMessage(expiredText) });
    expect(codeOf(r1)).toBe("UNAUTHENTICATED");
    expect(r1.errors![0].message).toMatch(/expired/);

    await server.system.db.query(`UPDATE auth_nonces SET expires_at = now() - interval '1 second' WHERE nonce = $1`, [nonce]);
    const r2 = await gql(server.url, SIGN_IN, { message, signature: await wallet.signMessage(message) });
    expect(codeOf(r2)).toBe("UNAUTHENTICATED");
  });

  it("refuses a message for another domain, a nonce we never issued, and a signature by another wallet", async () => {
    const wallet = Wallet.createRandom();
    const { message } = await challengeFor(wallet);
    const other = new SiweMessage(message);
    other.domain = "evil.example";
    const otherText = other.prepareMessage();
    const r1 = await gql(server.url, SIGN_IN, { message: otherText, signature: await wallet.signMessage(otherText) });
    expect(codeOf(r1)).toBe("UNAUTHENTICATED");
    expect(r1.errors![0].message).toMatch(/evil\.example/);

    const forged = new SiweMessage(message);
    forged.nonce = "abcdefgh12345678";
    const forgedText = forged.prepareMessage();
    expect(codeOf(await gql(server.url, SIGN_IN, { message: forgedText, signature: await wallet.signMessage(forgedText) }))).toBe("UNAUTHENTICATED");

    const r3 = await gql(server.url, SIGN_IN, { message, signature: await Wallet.createRandom().signMessage(message) });
    expect(codeOf(r3)).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, SIGN_IN, { message, signature: "0x1234" }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, SIGN_IN, { message: "hello", signature: "0x1234" }))).toBe("BAD_USER_INPUT");
  });

  it("refuses bad addresses and another chain", async () => {
    expect(codeOf(await gql(server.url, AUTH_CHALLENGE, { address: "0x123" }))).toBe("BAD_USER_INPUT");
    const r = await gql(server.url, AUTH_CHALLENGE, { address: Wallet.createRandom().address, chainId: "200820172034" });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(r.errors![0].message).toMatch(/chain 31337/);
  });

  it("refuses a bad or missing credential", async () => {
    const r = await gql(server.url, MY_NODES, {}, "not-a-token");
    expect(r.status).toBe(401);
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, MY_NODES, {}, "gx_deadbeef_nope"))).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, MY_NODES))).toBe("UNAUTHENTICATED");
  });
});

describe("API keys", () => {
  it("creates a key shown once, works over HTTP and WebSocket, and is refused once revoked", async () => {
    const { token } = await signIn(server.url);
    const created = await gql(server.url, op("CreateApiKey"), { name: "ci runner" }, token);
    expect(created.errors).toBeUndefined();
    const secret = created.data!.createApiKey.secret as string;
    const id = created.data!.createApiKey.apiKey.id as string;
    expect(secret.startsWith(created.data!.createApiKey.apiKey.prefix)).toBe(true);
    const [stored] = await server.system.db.query(`SELECT secret_hash FROM api_keys WHERE id = $1`, [id]);
    expect(stored.secret_hash).not.toContain(secret.slice(12));

    expect((await gql(server.url, MY_NODES, {}, secret)).errors).toBeUndefined();
    const ws = wsClient(server.wsUrl, `Bearer ${secret}`);
    expect((await wsRequest(ws, MY_NODES)).data).toEqual({ myNodes: [] });
    await ws.dispose();

    const revoked = await gql(server.url, op("RevokeApiKey"), { id }, token);
    expect(revoked.data!.revokeApiKey.revokedAt).toBeTruthy();
    expect(codeOf(await gql(server.url, MY_NODES, {}, secret))).toBe("UNAUTHENTICATED");
    const ws2 = wsClient(server.wsUrl, `Bearer ${secret}`);
    await expect(wsRequest(ws2, MY_NODES)).rejects.toMatchObject({ code: 4403 });
    await ws2.dispose();
  });

  it("lets nobody else revoke a key", async () => {
    const alice = await signIn(server.url);
    const bob = await signIn(server.url);
    const created = await gql(server.url, op("CreateApiKey"), { name: "alice" }, alice.token);
    const id = created.data!.createApiKey.apiKey.id;
    expect(codeOf(await gql(server.url, op("RevokeApiKey"), { id }, bob.token))).toBe("FORBIDDEN");
    expect((await gql(server.url, MY_NODES, {}, created.data!.createApiKey.secret)).errors).toBeUndefined();
    expect(codeOf(await gql(server.url, op("CreateApiKey"), { name: "" }, alice.token))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("CreateApiKey"), { name: "x" }))).toBe("UNAUTHENTICATED");
  });

  it("lets an API key neither create keys nor revoke another, only itself", async () => {
    const alice = await signIn(server.url);
    const one = (await gql(server.url, op("CreateApiKey"), { name: "agent" }, alice.token)).data!.createApiKey;
    const two = (await gql(server.url, op("CreateApiKey"), { name: "relay" }, alice.token)).data!.createApiKey;
    expect(codeOf(await gql(server.url, op("CreateApiKey"), { name: "minted" }, one.secret))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("RevokeApiKey"), { id: two.apiKey.id }, one.secret))).toBe("FORBIDDEN");
    expect((await gql(server.url, MY_NODES, {}, two.secret)).errors).toBeUndefined();
    const self = await gql(server.url, op("RevokeApiKey"), { id: one.apiKey.id }, one.secret);
    expect(self.data!.revokeApiKey.revokedAt).toBeTruthy();
    expect(codeOf(await gql(server.url, MY_NODES, {}, one.secret))).toBe("UNAUTHENTICATED");
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE account_id = (SELECT account_id FROM api_keys WHERE id = $1)`, [one.apiKey.id]);
    expect(n).toBe(2);
  });

  it("refuses a bad WebSocket credential with 4403 and serves anonymous public queries", async () => {
    const bad = wsClient(server.wsUrl, "Bearer not-a-token");
    await expect(wsRequest(bad, `{ regions { id } }`)).rejects.toMatchObject({ code: 4403 });
    await bad.dispose();
    const anon = wsClient(server.wsUrl);
    const r = await wsRequest(anon, `{ regions { id } }`);
    expect((r.data as { regions: unknown[] }).regions).toHaveLength(16);
    await anon.dispose();
  });
});
