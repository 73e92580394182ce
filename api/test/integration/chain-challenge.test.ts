import { MaxUint256, Wallet, ZeroHash, concat, id, keccak256, verifyTypedData, type TypedDataField } from "ethers";
import { ORDER_TYPES, orderDomain } from "../../../contracts/orders";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createGraphqlClient } from "../../../agent/client";
import { loadContract } from "../../../agent/contract";
import { startWatchtowerMode } from "../../../agent/watchtower-mode";
import { ROLES, escrowAt, tokenAt } from "../../../contracts";
import { buildSettlement, settleTuple } from "../../../contracts/batch";
import { Watchtower, isSet, readCommittedBatch } from "../../../contracts/watchtower";
import { fetchSignedOrders, verifySignedOrders } from "../../../contracts/watchtower-orders";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DEV_TREASURY_INDEX } from "../../../contracts/dev-chain";
import { actor, eventually, freshModel, jobInput } from "../builders";
import { chainSystem, OGPU, wei } from "../chain-system";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, startTestServer, type TestServer } from "../harness";

/**
 * The challenge window through the whole system (api, worker, indexer, settlement on an in-process chain whose escrow
 * has a 600 s window): a client's wallet signs its job's order through prepareJobOrder; the marketplace's batch marks
 * the order's nonce; a challenge of the client's entry is answered by the marketplace from the stored order, and the
 * provider is paid once the window has passed. A thief holding a settler key takes a client's whole balance in a
 * batch of its own: a watchtower challenges it, nobody can answer, and the client gets all of it back, the thief's
 * bond going to the watchtower; chain and API agree to the wei at the end.
 */
jest.setTimeout(300_000);

const WINDOW = 600;
const THIEF = 16;
const WATCHER = 17;
/** The provider agent's watchtower key (any funded account: it pays the answer's gas). */
const AGENT_TOWER = 18;
const ADMIN = { user: "ops", password: "a-long-admin-password" };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    {
      DATABASE_URL: await privateDatabaseUrl("challenge"),
      CHAIN_PORT: String(await freePort()),
      DEV_CHALLENGE_WINDOW_SECONDS: String(WINDOW),
      INDEXER_POLL_MS: "100",
      CHAIN_CONFIRMATIONS: "2",
      SETTLEMENT_MAX_AGE_SECONDS: "1",
      SETTLEMENT_INTERVAL_MS: "300",
      FEE_BPS: "500",
      ADMIN_USER: ADMIN.user,
      ADMIN_PASSWORD: ADMIN.password,
      OGPU_USD_RATE: "0.5",
    },
    { api: true, worker: true, indexer: true },
  );
  // a second settler key (the stolen one), granted before the marketplace's settler sends anything
  const admin = escrowAt(await escrowAddress(), chain().signer(0));
  await (await admin.getFunction("grantRole")(ROLES.SETTLER_ROLE, chain().accounts[THIEF].address)).wait();
});
afterAll(() => server.stop());

/** 36 OGPU per GPU-hour for at least 60 s: 0.6 OGPU, 5% of it the fee. */
const COST = (36n * OGPU * 60n) / 3600n;
const CREDIT = COST - (COST * 500n) / 10_000n;
const { chain, contracts, walletClient, offer, runToCompletion, earnings } = chainSystem(() => server);
const escrowAddress = async () => (await contracts()).escrow;
const PREPARE = `mutation Prepare($input: SubmitJobInput!) { prepareJobOrder(input: $input) { jobId nonce expiry maxCostWei market digest typedData } }`;

/** The provider's node earnings as the API shows them (decimal OGPU strings). */
async function nodeEarnings(provider: { token: string }): Promise<{ settled: string; pending: string; inWindow: string }> {
  const r = await gql(server.url, `{ myNodes { earnings { settled pending inWindow } } }`, {}, provider.token);
  return r.data!.myNodes[0].earnings;
}

/** What the client's wallet does with the typed data: eth_signTypedData_v4. */
async function sign(wallet: Wallet, typedData: string): Promise<string> {
  const t = JSON.parse(typedData) as { domain: Record<string, unknown>; types: Record<string, TypedDataField[]>; message: Record<string, unknown> };
  const { EIP712Domain: _domain, ...types } = t.types;
  return wallet.signTypedData(t.domain, types, t.message);
}

/** Prepares `input`'s order, has the client's wallet sign it, and submits the job with it; the draft. */
async function submitSigned(client: { token: string; wallet: Wallet }, input: Record<string, unknown>) {
  const prepared = await gql(server.url, PREPARE, { input }, client.token);
  const draft = prepared.data!.prepareJobOrder as { jobId: string; nonce: string; expiry: string; maxCostWei: string; market: string; digest: string; typedData: string };
  const submitted = await gql(server.url, op("SubmitJob"), { input: { ...input, order: { jobId: draft.jobId, nonce: draft.nonce, expiry: draft.expiry, signature: await sign(client.wallet, draft.typedData) } } }, client.token);
  expect(submitted.errors).toBeUndefined();
  return draft;
}

/** `npm run watchtower -- --once` against the dev chain's escrow, reading the API's signed orders with `token`; its JSON lines. */
async function watchtowerProcess(args: string[], token: string): Promise<Record<string, unknown>[]> {
  const escrow = await escrowAddress();
  const { stdout } = await promisify(execFile)(process.execPath, ["-r", "@swc-node/register", "contracts/watchtower-main.ts", "--rpc", chain().url, "--chain-id", String(chain().chainId), "--escrow", escrow, "--once", ...args], {
    env: { ...process.env, WATCHTOWER_PRIVATE_KEY: chain().accounts[WATCHER].privateKey, WATCHTOWER_API_TOKEN: token },
    timeout: 60_000,
  });
  return stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The batch holding `jobId` once the chain has committed it: its id and BatchCommitted log. */
async function committedBatchOf(jobId: string, token: string) {
  const { batchId } = await eventually(async () => ((await gql(server.url, op("Job"), { id: jobId }, token)).data!.job.settlement ?? undefined) as { batchId: string } | undefined, 90_000, "the job in a batch");
  const escrow = escrowAt(await escrowAddress(), chain().provider);
  const [log] = await eventually(async () => {
    const logs = await escrow.queryFilter(escrow.filters.BatchCommitted(BigInt(batchId)));
    return logs.length ? logs : undefined;
  }, 90_000, "the batch on chain");
  return { batchId, log };
}

it("a signed order's job settles in a windowed batch; the marketplace answers a challenge of it from the stored order; the provider is paid after the window", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const client = await walletClient(10, wei("100"));
  const draft = await submitSigned(client, jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }));
  await runToCompletion(provider, nodeId);
  const { batchId, log } = await committedBatchOf(draft.jobId, client.token);
  const escrow = client.escrow;
  // the chain's digest of the order is the one the API gave the wallet, and the batch marked its nonce
  const order = { jobId: `0x${draft.jobId.replace(/-/g, "").padEnd(64, "0")}`, client: client.wallet.address, maxCost: BigInt(draft.maxCostWei), market: draft.market, expiry: BigInt(draft.expiry), nonce: BigInt(draft.nonce) };
  expect(await escrow.orderHash(order)).toBe(draft.digest);
  expect(await escrow.isNonceUsed(client.wallet.address, BigInt(draft.nonce))).toBe(true);
  // the provider's reputation counters are committed in the batch's tree: the API's proof leads to the root on chain
  const settledLog = (await escrow.queryFilter(escrow.filters.BatchSettled(BigInt(batchId))))[0];
  const chainRoot = escrow.interface.parseLog(settledLog)!.args.merkleRoot as string;
  const rep = await eventually(async () => {
    const r = await gql(server.url, `query($a: String!) { account(address: $a) { reputation { completedJobs failedJobs expiredJobs rejectedJobs } reputationProof { batchId merkleRoot completedJobs failedJobs expiredJobs rejectedJobs leaf proof } } }`, { a: provider.wallet.address });
    return r.data?.account.reputationProof ? r.data.account : undefined;
  }, 30_000, "the reputation proof");
  expect(rep.reputationProof).toMatchObject({ batchId, merkleRoot: chainRoot, ...rep.reputation });
  expect(rep.reputation.completedJobs).toBe(1);
  const word = (v: string | number) => (typeof v === "string" ? v.toLowerCase().replace(/^0x/, "").padStart(64, "0") : v.toString(16).padStart(64, "0"));
  const counters = rep.reputationProof;
  const leaf = keccak256(`0x${[keccak256(Buffer.from("gpu-exchange.reputation.v1")), provider.wallet.address, counters.completedJobs, counters.failedJobs, counters.expiredJobs, counters.rejectedJobs].map(word).join("")}`);
  expect(counters.leaf).toBe(leaf);
  const folded = (counters.proof as string[]).reduce((node, sib) => (BigInt(node) < BigInt(sib) ? keccak256(concat([node, sib])) : keccak256(concat([sib, node]))), leaf);
  expect(folded).toBe(chainRoot);

  // the client's watchtower reads its signed orders from the API (me.signedOrders), checks their signatures itself,
  // and finds the marketplace's entry covered: no challenge
  const fromApi = await fetchSignedOrders(server.url, client.token);
  expect(fromApi.entries.map((e) => e.order)).toEqual([{ jobId: order.jobId, client: order.client, maxCost: draft.maxCostWei, market: draft.market, expiry: draft.expiry, nonce: draft.nonce }]);
  const verified = verifySignedOrders(fromApi.entries, BigInt(chain().chainId), await escrow.getAddress());
  expect(verified.ignored).toBe(0);
  const apiTower = new Watchtower(escrowAt(await escrow.getAddress(), chain().signer(WATCHER)), (c) => verified.byClient.get(c) ?? new Map(), { fromBlock: log.blockNumber, clients: [client.wallet.address] });
  expect((await apiTower.poll()).map((x) => [String(x.batchId), x.action, x.covered])).toEqual([[batchId, "ok", BigInt(draft.maxCostWei)]]);

  // the credit waits out the window, and the API says so: confirmed, in the window, not settled
  expect(await escrow.pendingOf(provider.wallet.address)).toBe(CREDIT);
  expect(await escrow.claimableOf(provider.wallet.address)).toBe(0n);
  const shown = await nodeEarnings(provider);
  expect([wei(shown.settled), wei(shown.pending), wei(shown.inWindow)]).toEqual([0n, CREDIT, CREDIT]);

  // anyone challenges the client's entry; the marketplace answers with the client's signed order
  const committed = await readCommittedBatch(escrow, log);
  const entry = committed.batch.clients.indexOf(client.wallet.address);
  const watcher = escrowAt(await escrow.getAddress(), chain().signer(WATCHER));
  await (await watcher.challenge(committed.batch, committed.commitment, entry)).wait();
  expect(await escrow.pendingOf(provider.wallet.address)).toBe(0n);
  await eventually(async () => (Number((await escrow.challengeOf(BigInt(batchId), entry))[2]) === 3 ? true : undefined), 60_000, "the challenge answered and rejected");
  const [resolved] = await escrow.queryFilter(escrow.filters.ChallengeResolved(BigInt(batchId)));
  expect(escrow.interface.parseLog(resolved)!.args.upheld).toBe(false);

  // after the window the provider can claim its credit, and the API says the same
  await chain().increaseTime(2 * WINDOW + 1);
  expect(await escrow.claimableOf(provider.wallet.address)).toBe(CREDIT);
  await eventually(async () => ((await earnings(provider)).settled === CREDIT ? true : undefined), 30_000, "the earnings settled");
  expect(await escrow.balanceOf(client.wallet.address)).toBe(wei("100") - COST);
  await eventually(async () => (wei((await client.shown()).available) === BigInt(await escrow.freeBalanceOf(client.wallet.address)) ? true : undefined), 30_000, "chain and API agree");
});

it("a thief with a settler key takes a client's whole balance: the watchtower challenges, nobody can answer, the client gets all of it back and the thief's bond goes to the watchtower", async () => {
  const client = await walletClient(11, wei("50"));
  const address = await client.escrow.getAddress();
  const thief = escrowAt(address, chain().signer(THIEF));
  await (await tokenAt((await contracts()).token, chain().signer(THIEF)).approve(address, MaxUint256)).wait();
  await (await thief.postBond(chain().accounts[THIEF].address, wei("10"))).wait();
  const from = await chain().provider.getBlockNumber();
  const whole = BigInt(await client.escrow.balanceOf(client.wallet.address));
  const theft = buildSettlement(10n ** 9n, [{ jobId: id("steal"), client: client.wallet.address, provider: chain().accounts[THIEF].address, debitWei: whole, creditWei: whole, resultHash: ZeroHash }]);
  await (await thief.settle(settleTuple(theft), { gasLimit: 2_000_000 })).wait();
  expect(await client.escrow.balanceOf(client.wallet.address)).toBe(0n);

  // the client's watchtower (npm run watchtower) reads what its wallet signed from the API (nothing here) and guards
  // the client it signs in as
  const tower = (...args: string[]) => watchtowerProcess(["--api", server.url, "--from-block", String(from), ...args], client.token);
  const first = await tower();
  expect(first).toEqual([expect.objectContaining({ msg: "watchtower started", clients: [], ignoredOrders: 0 })]);
  const guarded = await tower("--clients", client.wallet.address);
  expect(guarded.slice(1).map((f) => f.action)).toEqual(["challenged"]);
  expect(await client.escrow.pendingOf(chain().accounts[THIEF].address)).toBe(0n);
  const watcherBefore = BigInt(await client.escrow.claimableOf(chain().accounts[WATCHER].address));
  await chain().increaseTime(WINDOW + 1);
  await tower("--clients", client.wallet.address);
  expect(await client.escrow.balanceOf(client.wallet.address)).toBe(whole);
  expect(await client.escrow.bondOf(chain().accounts[THIEF].address)).toBe(0n);
  expect(BigInt(await client.escrow.claimableOf(chain().accounts[WATCHER].address)) - watcherBefore).toBe(wei("10"));
  await chain().increaseTime(2 * WINDOW + 1);
  expect(await client.escrow.claimableOf(chain().accounts[THIEF].address)).toBe(0n);
  await eventually(async () => (wei((await client.shown()).available) === BigInt(await client.escrow.freeBalanceOf(client.wallet.address)) ? true : undefined), 30_000, "chain and API agree");
});

it("the relay's treasury signs each relay job's order with its key: the batch marks the treasury's nonce, the entry is order-covered, not on the allowance", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const who = await actor(server);
  const key = (await gql(server.url, op("CreateApiKey"), { name: "relay" }, who.token)).data!.createApiKey.secret as string;
  const base = server.url.replace("/graphql", "");
  const admin = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;
  const credit = await fetch(`${base}/admin/usd-credits`, { method: "POST", headers: { "content-type": "application/json", authorization: admin }, body: JSON.stringify({ address: who.wallet.address, usd: "10" }) });
  expect(credit.status).toBe(201);
  // 18 USD a GPU-hour at 0.5 USD/OGPU: 36 OGPU, the offer's price
  const body = { kind: "BATCH", command: ["true"], requirements: { gpuCount: 1, minVramGb: m.gpu(1).vramGb, gpuModels: [m.model], maxPriceUsdPerGpuHour: "18", maxDurationSeconds: 600 } };
  const posted = await fetch(`${base}/relay/v1/jobs`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "idempotency-key": "signed-1" }, body: JSON.stringify(body) });
  expect(posted.status).toBe(201);
  const jobId = ((await posted.json()) as { id: string }).id;

  // the stored order is the treasury's own signature over the job's order
  const treasury = chain().accounts[DEV_TREASURY_INDEX].address;
  const [row] = await server.system.db.query(`SELECT o.nonce, o.max_cost_wei, o.market, o.expiry, o.signature, a.address FROM job_orders o JOIN accounts a ON a.id = o.client_id WHERE o.job_id = $1`, [jobId]);
  expect(row.address).toBe(treasury.toLowerCase());
  const escrow = escrowAt(await escrowAddress(), chain().provider);
  const order = { jobId: `0x${jobId.replace(/-/g, "").padEnd(64, "0")}`, client: treasury, maxCost: BigInt(row.max_cost_wei), market: row.market, expiry: BigInt(row.expiry), nonce: BigInt(row.nonce) };
  expect(verifyTypedData(orderDomain(BigInt(chain().chainId), await escrow.getAddress()), ORDER_TYPES, order, row.signature)).toBe(treasury);
  expect(order.maxCost).toBe((36n * OGPU * 600n) / 3600n);

  await runToCompletion(provider, nodeId);
  const [{ settlement_batch: batchId }] = await eventually(async () => {
    const rows = await server.system.db.query(`SELECT settlement_batch FROM charges WHERE job_id = $1 AND settlement_batch IS NOT NULL`, [jobId]);
    return rows.length ? rows : undefined;
  }, 90_000, "the relay job in a batch");
  const [log] = await eventually(async () => {
    const logs = await escrow.queryFilter(escrow.filters.BatchCommitted(BigInt(batchId)));
    return logs.length ? logs : undefined;
  }, 90_000, "the batch on chain");
  const committed = await readCommittedBatch(escrow, log);
  const entry = committed.batch.clients.indexOf(treasury);
  expect(entry).toBeGreaterThanOrEqual(0);
  expect(isSet(committed.batch.allowanceBits, entry)).toBe(false);
  expect(await escrow.isNonceUsed(treasury, order.nonce)).toBe(true);
  // a watchtower that knows the treasury's signed order finds the entry covered
  const tower = new Watchtower(escrowAt(await escrow.getAddress(), chain().signer(WATCHER)), () => new Map([[order.nonce, order.maxCost]]), { fromBlock: log.blockNumber, clients: [treasury] });
  expect((await tower.poll()).filter((f) => f.batchId === BigInt(batchId)).map((f) => f.action)).toEqual(["ok"]);
});

it("with the marketplace's settler unable to answer, the provider's agent in watchtower mode answers the challenge of its credit with the client's signed orders, and is paid after the window", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const client = await walletClient(12, wei("100"));
  const draft = await submitSigned(client, jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }));
  await runToCompletion(provider, nodeId);
  const { batchId, log } = await committedBatchOf(draft.jobId, client.token);
  const escrow = client.escrow;
  const committed = await readCommittedBatch(escrow, log);
  const entry = committed.batch.clients.indexOf(client.wallet.address);

  // the marketplace's settler can pay no gas: it cannot answer
  const settler = chain().accounts[0].address;
  const settlerEth = await chain().provider.getBalance(settler);
  await chain().provider.send("hardhat_setBalance", [settler, "0x0"]);
  const dir = mkdtempSync(join(tmpdir(), "gx-tower-"));
  try {
    await (await escrowAt(await escrow.getAddress(), chain().signer(WATCHER)).challenge(committed.batch, committed.commitment, entry)).wait();
    // the API offers the answer to whoever its batch credits
    const listed = await eventually(async () => {
      const r = await gql(server.url, `query($p: String) { settlementChallenges(creditedTo: $p) { batchId clientIndex answerCalldata answerOrders unanswerable } }`, { p: provider.wallet.address });
      return (r.data?.settlementChallenges as { batchId: string; answerOrders: number; unanswerable: string | null }[] | undefined)?.find((c) => c.batchId === batchId);
    }, 30_000, "the challenge listed");
    expect(listed).toMatchObject({ clientIndex: entry, answerOrders: 1, unanswerable: null });
    const other = await gql(server.url, `query($p: String) { settlementChallenges(creditedTo: $p) { batchId } }`, { p: Wallet.createRandom().address });
    expect(other.data!.settlementChallenges).toEqual([]);
    const bad = await gql(server.url, `query { settlementChallenges(creditedTo: "0x12") { batchId } }`);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");

    // the provider's agent: its API key, and a key file that pays the answer's gas
    const apiKey = (await gql(server.url, op("CreateApiKey"), { name: "agent" }, provider.token)).data!.createApiKey.secret as string;
    const keyFile = join(dir, "tower.key");
    writeFileSync(keyFile, chain().accounts[AGENT_TOWER].privateKey);
    chmodSync(keyFile, 0o600);
    const logger = pino({ level: "silent" });
    const api = createGraphqlClient({ apiUrl: server.url, apiKey, operations: loadContract(), logger });
    const fatal: unknown[] = [];
    const mode = await startWatchtowerMode(api, { rpcUrl: chain().url, keyFile, intervalS: 1 }, logger, (err) => fatal.push(err));
    try {
      await eventually(async () => (Number((await escrow.challengeOf(BigInt(batchId), entry))[2]) === 3 ? true : undefined), 60_000, "the agent's answer");
    } finally {
      await mode.stop();
      await api.close();
    }
    expect(fatal).toEqual([]);
    const [resolved] = await escrow.queryFilter(escrow.filters.ChallengeResolved(BigInt(batchId)));
    expect(escrow.interface.parseLog(resolved)!.args.upheld).toBe(false);
    expect((await resolved.getTransaction()).from).toBe(chain().accounts[AGENT_TOWER].address);
  } finally {
    await chain().provider.send("hardhat_setBalance", [settler, `0x${settlerEth.toString(16)}`]);
    rmSync(dir, { recursive: true, force: true });
  }
  await chain().increaseTime(2 * WINDOW + 1);
  expect(await escrow.claimableOf(provider.wallet.address)).toBe(CREDIT);
});

it("a challenge of an honest batch nobody answers is upheld: the client gets its debit back, the provider's credit goes, and the API's balance and earnings follow the chain to the wei", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const client = await walletClient(13, wei("100"));
  const draft = await submitSigned(client, jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }));
  await runToCompletion(provider, nodeId);
  const { batchId, log } = await committedBatchOf(draft.jobId, client.token);
  const escrow = client.escrow;
  const committed = await readCommittedBatch(escrow, log);
  const entry = committed.batch.clients.indexOf(client.wallet.address);
  await eventually(async () => (wei((await nodeEarnings(provider)).inWindow) === CREDIT ? true : undefined), 30_000, "the earnings confirmed, in the window");
  expect(await earnings(provider)).toEqual({ settled: 0n, pending: CREDIT });

  // nobody answers: the marketplace's settler has no gas money, and no agent watches
  const settler = chain().accounts[0].address;
  const settlerEth = await chain().provider.getBalance(settler);
  await chain().provider.send("hardhat_setBalance", [settler, "0x0"]);
  const watcher = escrowAt(await escrow.getAddress(), chain().signer(WATCHER));
  try {
    await (await watcher.challenge(committed.batch, committed.commitment, entry)).wait();
    await chain().increaseTime(WINDOW + 1);
    await (await watcher.resolveChallenge(committed.batch, committed.commitment, entry)).wait();
  } finally {
    await chain().provider.send("hardhat_setBalance", [settler, `0x${settlerEth.toString(16)}`]);
  }
  const [resolved] = await escrow.queryFilter(escrow.filters.ChallengeResolved(BigInt(batchId)));
  expect(escrow.interface.parseLog(resolved)!.args.upheld).toBe(true);
  expect(await escrow.balanceOf(client.wallet.address)).toBe(wei("100"));
  expect(await escrow.pendingOf(provider.wallet.address)).toBe(0n);
  await chain().mine(3);

  // the API follows: the charge is refunded, the provider earned nothing for it
  await eventually(async () => (wei((await client.shown()).available) === BigInt(await escrow.freeBalanceOf(client.wallet.address)) ? true : undefined), 30_000, "chain and API agree");
  expect(wei((await client.shown()).available)).toBe(wei("100"));
  expect(await earnings(provider)).toEqual({ settled: 0n, pending: 0n });
  const [charge] = await server.system.db.query(`SELECT refunded_at FROM charges WHERE job_id = $1`, [draft.jobId]);
  expect(charge.refunded_at).not.toBeNull();
});
