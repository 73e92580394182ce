import { Signature, Wallet, type HDNodeWallet } from "ethers";
import { SiweMessage } from "siwe";
import { op } from "../contract";
import { codeOf, gql, SIGN_IN, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

async function challenge(wallet: HDNodeWallet) {
  const r = await gql(server.url, op("AuthChallenge"), { address: wallet.address });
  return r.data!.authChallenge.message as string;
}

/** The challenge with one field changed, signed by the wallet. */
async function signedChange(wallet: HDNodeWallet, message: string, change: (m: SiweMessage) => void) {
  const changed = new SiweMessage(message);
  change(changed);
  const text = changed.prepareMessage();
  return { message: text, signature: await wallet.signMessage(text) };
}

/** A 65-byte signature r ‖ s ‖ v with v replaced. */
const withV = (signature: string, v: number) => `${signature.slice(0, 130)}${v.toString(16).padStart(2, "0")}`;

describe("sign-in checks the message against the challenge issued", () => {
  it.each<[string, (m: SiweMessage) => void, RegExp]>([
    ["another URI (domain kept)", (m) => (m.uri = "https://evil.example/login"), /URI is "https:\/\/evil\.example\/login", the challenge's "http:\/\/localhost:\d+"/],
    ["another chain id", (m) => (m.chainId = 1), /chain id is 1, the challenge's 31337/],
    ["another statement", (m) => (m.statement = "Transfer all my OGPU."), /statement/],
    ["a later expiration time", (m) => (m.expirationTime = new Date(Date.now() + 86_400_000).toISOString()), /expiration time/],
    ["another issued-at time", (m) => (m.issuedAt = new Date(Date.now() - 60_000).toISOString()), /issued-at time/],
    ["resources added", (m) => (m.resources = ["https://evil.example/grant"]), /resources/],
    ["a request id added", (m) => (m.requestId = "r1"), /request id/],
  ])("refuses %s with UNAUTHENTICATED, signed by the right wallet, and leaves the challenge unused", async (_what, change, reason) => {
    const wallet = Wallet.createRandom();
    const message = await challenge(wallet);
    const r = await gql(server.url, SIGN_IN, await signedChange(wallet, message, change));
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(r.errors![0].message).toMatch(/the message is not the challenge issued/);
    expect(r.errors![0].message).toMatch(reason);
    expect(r.data).toBeNull();
    const honest = await gql(server.url, SIGN_IN, { message, signature: await wallet.signMessage(message) });
    expect(honest.errors).toBeUndefined();
  });

  it("refuses another version as not a sign-in message, and a message for another domain", async () => {
    const wallet = Wallet.createRandom();
    const message = await challenge(wallet);
    const v2 = message.replace("Version: 1", "Version: 2");
    expect(codeOf(await gql(server.url, SIGN_IN, { message: v2, signature: await wallet.signMessage(v2) }))).toBe("BAD_USER_INPUT");
    const other = await gql(server.url, SIGN_IN, await signedChange(wallet, message, (m) => (m.domain = "localhost:1")));
    expect(codeOf(other)).toBe("UNAUTHENTICATED");
    expect(other.errors![0].message).toMatch(/localhost:1/);
  });
});

describe("sign-in takes signatures in canonical form only", () => {
  it.each([0xff, 0x02, 0x1d, 0x1a, 0x25])("refuses v = %i with UNAUTHENTICATED naming v", async (v) => {
    const wallet = Wallet.createRandom();
    const message = await challenge(wallet);
    const signature = await wallet.signMessage(message);
    const r = await gql(server.url, SIGN_IN, { message, signature: withV(signature, v) });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(r.errors![0].message).toContain(`not in canonical form: v is ${v}`);
    expect((await gql(server.url, SIGN_IN, { message, signature })).errors).toBeUndefined();
  });

  it("refuses the high-s twin of a valid signature (it recovers the same address)", async () => {
    const wallet = Wallet.createRandom();
    const message = await challenge(wallet);
    const sig = Signature.from(await wallet.signMessage(message));
    const highS = `0x${sig.r.slice(2)}${(CURVE_ORDER - BigInt(sig.s)).toString(16).padStart(64, "0")}${(sig.v === 27 ? 28 : 27).toString(16)}`;
    const r = await gql(server.url, SIGN_IN, { message, signature: highS });
    expect(codeOf(r)).toBe("UNAUTHENTICATED");
    expect(r.errors![0].message).toMatch(/lower half of the curve order/);
  });

  it("takes v as 27/28 and as the y-parity 0/1", async () => {
    const wallet = Wallet.createRandom();
    const message = await challenge(wallet);
    const signature = await wallet.signMessage(message);
    const parity = withV(signature, Signature.from(signature).v - 27);
    const r = await gql(server.url, SIGN_IN, { message, signature: parity });
    expect(r.errors).toBeUndefined();
    expect(r.data!.signIn.address).toBe(wallet.address);
  });
});
