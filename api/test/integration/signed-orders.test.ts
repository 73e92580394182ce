import { TypedDataEncoder, Wallet, getAddress, type TypedDataField } from "ethers";
import { actor, eventually, jobInput, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";
import { SteppedClock } from "../../services/clock";

/**
 * Signed orders through the API: prepareJobOrder gives the typed data of a submission, the client's wallet signs it,
 * submitJob carries the signature, and the job is stored with that id and its order. What does not match (another
 * input, another wallet, a nonce never issued, an expiry too near, an order used twice) is a coded error that
 * stores nothing.
 */
const ESCROW = "0x00000000000000000000000000000000000e5c40";
const CHAIN_ID = 31337n;
const PREPARE = `mutation Prepare($input: SubmitJobInput!) { prepareJobOrder(input: $input) { jobId client chainId escrow maxCost maxCostWei market expiry nonce digest typedData } }`;

let server: TestServer;
const clock = new SteppedClock();
beforeAll(async () => {
  server = await startTestServer({ ESCROW_ADDRESS: ESCROW, CHAIN_ID: String(CHAIN_ID), OFFER_EXPIRY_SWEEP_MS: "200" }, { api: true, worker: true }, clock);
});
afterAll(() => server.stop());

interface Draft {
  jobId: string;
  client: string;
  chainId: string;
  escrow: string;
  maxCost: string;
  maxCostWei: string;
  market: string;
  expiry: string;
  nonce: string;
  digest: string;
  typedData: string;
}

async function prepare(who: Actor, input: Record<string, unknown>): Promise<Draft> {
  const r = await gql(server.url, PREPARE, { input }, who.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.prepareJobOrder as Draft;
}

/** What a wallet does with typedData (eth_signTypedData_v4): signs its domain, types and message. */
async function sign(wallet: Pick<Wallet, "signTypedData">, typedData: string, change: Record<string, unknown> = {}): Promise<string> {
  const t = JSON.parse(typedData) as { domain: Record<string, unknown>; types: Record<string, TypedDataField[]>; message: Record<string, unknown> };
  const { EIP712Domain: _domainType, ...types } = t.types;
  return wallet.signTypedData(t.domain, types, { ...t.message, ...change });
}

const orderOf = (d: Draft, signature: string, change: Partial<Record<"jobId" | "nonce" | "expiry", string>> = {}) => ({ jobId: d.jobId, nonce: d.nonce, expiry: d.expiry, signature, ...change });
const held = async (who: Actor) => BigInt((await server.system.db.query(`SELECT held_wei FROM escrow_balances WHERE account_id = $1`, [who.accountId]))[0].held_wei);
const jobsOf = async (who: Actor) => Number((await server.system.db.query(`SELECT count(*) FROM jobs WHERE client_id = $1`, [who.accountId]))[0].count);

test("prepare, sign with the wallet, submit: the job has the order's id and its order is stored as signed", async () => {
  const client = await actor(server, 100n);
  const model = "H100";
  const input = jobInput(model, { maxPricePerGpuHour: "3", maxDurationSeconds: 3600, redundancy: 2 });
  const first = await prepare(client, input);
  const second = await prepare(client, input);
  // nonces are issued in sequence, one per prepare
  expect(BigInt(second.nonce)).toBe(BigInt(first.nonce) + 1n);
  expect(second.jobId).not.toBe(first.jobId);

  // the typed data is the escrow's Order in the escrow's domain, for this client, for the job's hold (3 x 1 h x 2)
  const typed = JSON.parse(first.typedData);
  expect(typed.primaryType).toBe("Order");
  expect(typed.domain).toMatchObject({ name: "gpu-exchange Escrow", version: "1", verifyingContract: ESCROW.toLowerCase() });
  expect(BigInt(typed.domain.chainId)).toBe(CHAIN_ID);
  expect(getAddress(typed.message.client)).toBe(client.wallet.address);
  expect(typed.message.maxCost).toBe((6n * 10n ** 18n).toString());
  expect(first.maxCost).toBe("6");
  expect(typed.message.jobId).toBe(`0x${first.jobId.replace(/-/g, "").padEnd(64, "0")}`);
  const { EIP712Domain: _d, ...types } = typed.types;
  expect(first.digest).toBe(TypedDataEncoder.hash(typed.domain, types, typed.message));

  const signature = await sign(client.wallet, first.typedData);
  const r = await gql(server.url, op("SubmitJob"), { input: { ...input, order: orderOf(first, signature) } }, client.token);
  expect(r.errors).toBeUndefined();
  expect(r.data!.submitJob.id).toBe(first.jobId);
  const [row] = await server.system.db.query(`SELECT * FROM job_orders WHERE job_id = $1`, [first.jobId]);
  expect(row).toMatchObject({ nonce: first.nonce, max_cost_wei: typed.message.maxCost, market: typed.message.market, expiry: first.expiry, signature, digest: first.digest, escrow: ESCROW.toLowerCase() });
  expect(await held(client)).toBe(6n * 10n ** 18n);

  // the same order again is CONFLICT (its job exists) and holds nothing more
  const again = await gql(server.url, op("SubmitJob"), { input: { ...input, order: orderOf(first, signature) } }, client.token);
  expect(codeOf(again)).toBe("CONFLICT");
  // its nonce for another job id (signed by the client itself) is CONFLICT too
  const other = "00000000-0000-4000-8000-000000000001";
  const reused = await gql(server.url, op("SubmitJob"), { input: { ...input, order: orderOf(first, await sign(client.wallet, first.typedData, { jobId: `0x${other.replace(/-/g, "").padEnd(64, "0")}` }), { jobId: other }) } }, client.token);
  expect(codeOf(reused)).toBe("CONFLICT");
  expect(reused.errors![0].message).toMatch(/nonce/);
  expect(await held(client)).toBe(6n * 10n ** 18n);
  expect(await jobsOf(client)).toBe(1);
});

test("what does not match its order is BAD_USER_INPUT and stores nothing: other input, another wallet, an unissued nonce, a near expiry, a bad signature", async () => {
  const client = await actor(server, 100n);
  const model = "H100";
  const input = jobInput(model);
  const draft = await prepare(client, input);
  const signature = await sign(client.wallet, draft.typedData);
  const submit = (i: Record<string, unknown>, order: Record<string, unknown>) => gql(server.url, op("SubmitJob"), { input: { ...i, order } }, client.token);
  const cases: [string, Awaited<ReturnType<typeof submit>>, RegExp][] = [
    ["a longer run than the order was for", await submit(jobInput(model, { maxDurationSeconds: 7200 }), orderOf(draft, signature)), /signature/],
    ["another image", await submit({ ...input, image: "ghcr.io/example/other:2" }, orderOf(draft, signature)), /signature/],
    ["another wallet's signature", await submit(input, orderOf(draft, await sign(Wallet.createRandom(), draft.typedData))), /signature/],
    ["a nonce never issued", await submit(input, orderOf(draft, await sign(client.wallet, draft.typedData, { nonce: "999" }), { nonce: "999" })), /not issued/],
    ["an expiry before the run could end", await submit(input, orderOf(draft, await sign(client.wallet, draft.typedData, { expiry: "1000" }), { expiry: "1000" })), /too little time/],
    ["a malformed signature", await submit(input, orderOf(draft, "0x1234")), /130 hex/],
    ["a job id that is not a UUID", await submit(input, orderOf(draft, signature, { jobId: "job-1" })), /UUID/],
  ];
  for (const [what, r, message] of cases) {
    expect([what, codeOf(r)]).toEqual([what, "BAD_USER_INPUT"]);
    expect([what, r.errors![0].message]).toEqual([what, expect.stringMatching(message)]);
  }
  expect(await held(client)).toBe(0n);
  expect(await jobsOf(client)).toBe(0);
  // the right one still goes in
  const ok = await submit(input, orderOf(draft, signature));
  expect(ok.errors).toBeUndefined();
  expect(ok.data!.submitJob.id).toBe(draft.jobId);
});

test("prepareJobOrder checks the input as submitJob does and needs a signed-in caller", async () => {
  const client = await actor(server, 1n);
  expect(codeOf(await gql(server.url, PREPARE, { input: jobInput("H100") }))).toBe("UNAUTHENTICATED");
  const bad = await gql(server.url, PREPARE, { input: jobInput("H100", { maxDurationSeconds: -5 }) }, client.token);
  expect(codeOf(bad)).toBe("BAD_USER_INPUT");
  expect(Number((await server.system.db.query(`SELECT count(*) FROM order_nonces WHERE account_id = $1`, [client.accountId]))[0].count)).toBe(0);
});

test("a resting job whose order would expire before it could run and settle is expired, its hold released", async () => {
  const client = await actor(server, 100n);
  // no offer for this model: the job rests on the book
  const input = jobInput("A100", { maxDurationSeconds: 3600 });
  const draft = await prepare(client, input);
  const r = await gql(server.url, op("SubmitJob"), { input: { ...input, order: orderOf(draft, await sign(client.wallet, draft.typedData)) } }, client.token);
  expect(r.errors).toBeUndefined();
  const heldBefore = await held(client);
  expect(heldBefore > 0n).toBe(true);
  const { jobs, jobOrders } = server.system.services;
  expect(await jobOrders.dueToExpire()).not.toContain(draft.jobId);
  // the order lasts 7 days; a run of an hour and an hour's settlement margin no longer fit a minute after 7 days - 2 h
  const expiresInMs = (BigInt(draft.expiry) * 1000n - BigInt(clock.now().getTime()));
  clock.advance(Number(expiresInMs) - 2 * 3600_000 - 60_000);
  expect(await jobOrders.dueToExpire()).not.toContain(draft.jobId);
  clock.advance(120_000);
  expect(await jobOrders.dueToExpire()).toContain(draft.jobId);
  // the worker's maintenance sweep expires it
  const row = await eventually(async () => {
    const [j] = await server.system.db.query(`SELECT status, resting, status_message FROM jobs WHERE id = $1`, [draft.jobId]);
    return j.status === "EXPIRED" ? j : undefined;
  }, 20_000, "the job expired");
  expect(row).toEqual({ status: "EXPIRED", resting: false, status_message: expect.stringMatching(/signed order expires before the job could run and settle/) });
  expect(await held(client)).toBe(0n);
  // expiring again changes nothing
  expect(await jobs.expire([draft.jobId], "again")).toBe(0);
});

const SIGNED_ORDERS = `query Orders($after: BigInt, $first: Int) { me { signedOrders(afterNonce: $after, first: $first) { jobId orderJobId client chainId escrow maxCostWei market expiry nonce signature digest burned } } }`;

test("me.signedOrders lists the caller's own signed orders by nonce, pages on by afterNonce, and refuses bad bounds", async () => {
  const client = await actor(server, 100n);
  const stranger = await actor(server, 100n);
  const input = jobInput("H100", { maxPricePerGpuHour: "1", maxDurationSeconds: 3600 });
  const submitted: { draft: Draft; signature: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const draft = await prepare(client, input);
    const signature = await sign(client.wallet, draft.typedData);
    expect((await gql(server.url, op("SubmitJob"), { input: { ...input, order: orderOf(draft, signature) } }, client.token)).errors).toBeUndefined();
    submitted.push({ draft, signature });
  }
  // a prepared order never submitted is not listed: nothing signed it as far as the API knows
  await prepare(client, input);
  const list = async (who: Actor, vars: Record<string, unknown>) => gql(server.url, SIGNED_ORDERS, vars, who.token);

  const all = (await list(client, {})).data!.me.signedOrders as Record<string, unknown>[];
  expect(all).toEqual(
    submitted.map(({ draft, signature }) => ({
      jobId: draft.jobId,
      orderJobId: JSON.parse(draft.typedData).message.jobId,
      client: client.wallet.address,
      chainId: CHAIN_ID.toString(),
      escrow: getAddress(ESCROW),
      maxCostWei: draft.maxCostWei,
      market: draft.market,
      expiry: draft.expiry,
      nonce: draft.nonce,
      signature,
      digest: draft.digest,
      burned: false,
    })),
  );
  const page = (await list(client, { after: submitted[0].draft.nonce, first: 1 })).data!.me.signedOrders as { nonce: string }[];
  expect(page.map((o) => o.nonce)).toEqual([submitted[1].draft.nonce]);
  expect((await list(client, { after: submitted[2].draft.nonce })).data!.me.signedOrders).toEqual([]);
  expect((await list(stranger, {})).data!.me.signedOrders).toEqual([]);

  for (const bad of [{ first: 0 }, { first: 501 }, { after: "-1" }]) expect(codeOf(await list(client, bad))).toBe("BAD_USER_INPUT");
  expect(codeOf(await gql(server.url, SIGNED_ORDERS, {}))).toBe("UNAUTHENTICATED");
});
