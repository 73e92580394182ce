import { Wallet, verifyMessage, getBytes, toUtf8String } from "ethers";
import { eip1193Signer, utf8ToHex, walletAuth, type Requester } from "./auth";
import { operationName } from "./client";

/** A requester that answers authChallenge and signIn as the server would (a token per sign-in, expiring in 1 h). */
function fakeServer(clock: { now: number }) {
  const signIns: { address: string; signature: string }[] = [];
  const requester: Requester = {
    async request(document, variables) {
      const name = operationName(document as never);
      const vars = variables as Record<string, string>;
      if (name === "AuthChallenge") return { authChallenge: { message: `sign in as ${vars.address} on ${vars.chainId}`, nonce: "n", expiresAt: "" } } as never;
      if (name === "SignIn") {
        const address = verifyMessage(vars.message, vars.signature);
        signIns.push({ address, signature: vars.signature });
        return { signIn: { token: `token-${signIns.length}`, address, expiresAt: new Date(clock.now + 3_600_000).toISOString() } } as never;
      }
      throw new Error(`unexpected ${name}`);
    },
  };
  return { requester, signIns };
}

it("writes personal_sign's data as the message's UTF-8 bytes in hex", () => {
  expect(utf8ToHex("gx ✓")).toBe("0x677820e29c93");
  expect(toUtf8String(getBytes(utf8ToHex("line one\nline two")))).toBe("line one\nline two");
});

it("signs in once for concurrent requests, renews a session about to expire, and renews a refused one", async () => {
  const clock = { now: Date.parse("2030-01-01T00:00:00Z") };
  const { requester, signIns } = fakeServer(clock);
  const wallet = Wallet.createRandom();
  const sessions: string[] = [];
  const auth = walletAuth({ signer: wallet, now: () => clock.now, onSession: (s) => sessions.push(s.token) });
  auth.attach!(requester);

  expect(await Promise.all([auth.credential(), auth.credential(), auth.credential()])).toEqual(["token-1", "token-1", "token-1"]);
  expect(signIns.map((s) => s.address)).toEqual([wallet.address]);
  clock.now += 3_600_000 - 61_000;
  expect(await auth.credential()).toBe("token-1");
  clock.now += 2_000;
  expect(await auth.credential()).toBe("token-2");
  // refused: a new session; refused again with the old token after another request renewed it: no third sign-in
  expect(await auth.refresh!("token-2")).toBe(true);
  expect(auth.peek()).toBe("token-3");
  expect(await auth.refresh!("token-2")).toBe(true);
  expect(auth.peek()).toBe("token-3");
  expect(sessions).toEqual(["token-1", "token-2", "token-3"]);
});

it("signs with an EIP-1193 provider: the account it gives, its chain in the challenge, personal_sign over hex", async () => {
  const clock = { now: Date.now() };
  const { requester, signIns } = fakeServer(clock);
  const wallet = Wallet.createRandom();
  const calls: string[] = [];
  const provider = {
    async request({ method, params }: { method: string; params?: readonly unknown[] | object }) {
      calls.push(method);
      if (method === "eth_requestAccounts") return [wallet.address];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "personal_sign") return wallet.signMessage(getBytes((params as string[])[0]));
      throw new Error(method);
    },
  };
  const auth = walletAuth({ signer: provider, now: () => clock.now });
  auth.attach!(requester);
  const session = await auth.signIn();
  expect(session.address).toBe(wallet.address);
  expect(signIns).toHaveLength(1);
  expect(calls).toEqual(["eth_requestAccounts", "eth_chainId", "personal_sign"]);
  expect(await eip1193Signer(provider).getChainId!()).toBe(31337n);
});
