import { ZeroHash, id, type TypedDataField, type Wallet } from "ethers";
import { ROLES, escrowAt } from "../../../contracts";
import { buildSettlement, settleTuple } from "../../../contracts/batch";
import { readCommittedBatch, isSet } from "../../../contracts/watchtower";
import { actor, eventually, freshModel, jobInput } from "../builders";
import { chainSystem, OGPU, wei } from "../chain-system";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, startTestServer, type TestServer } from "../harness";

/**
 * No work on money the chain will not pay with, for jobs without a signed order: on an escrow with a challenge window
 * such a job is paid only from the client's on-chain spending allowance (Escrow.approveSpending), so submitJob refuses
 * one the allowance (as the settlement runner mirrors it, less the client's other unsigned work) does not cover.
 * Once the client approves spending the job is taken, runs, and settles as an allowance entry (no AllowanceShort,
 * unchallengeable); what the batch debited comes off the allowance, on chain and in the API's accounting alike.
 */
jest.setTimeout(300_000);

const WINDOW = 600;
const THIEF = 16;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    {
      DATABASE_URL: await privateDatabaseUrl("allowance"),
      CHAIN_PORT: String(await freePort()),
      DEV_CHALLENGE_WINDOW_SECONDS: String(WINDOW),
      INDEXER_POLL_MS: "100",
      CHAIN_CONFIRMATIONS: "2",
      SETTLEMENT_MAX_AGE_SECONDS: "1",
      SETTLEMENT_INTERVAL_MS: "300",
    },
    { api: true, worker: true, indexer: true },
  );
  // a second settler key (a stolen one)
  const admin = escrowAt((await contracts()).escrow, chain().signer(0));
  await (await admin.getFunction("grantRole")(ROLES.SETTLER_ROLE, chain().accounts[THIEF].address)).wait();
});
afterAll(() => server.stop());

const { chain, contracts, walletClient, offer, runToCompletion } = chainSystem(() => server);
/** 36 OGPU per GPU-hour for up to 600 s: each job holds 6 OGPU and costs 0.6 (billed at least 60 s). */
const HOLD = (36n * OGPU * 600n) / 3600n;
const COST = (36n * OGPU * 60n) / 3600n;

it("refuses an unsigned job its client's allowance does not cover, takes it once the allowance does, and the settled debit comes off the allowance", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const client = await walletClient(5, wei("100"));
  const input = jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 });
  const submit = () => gql(server.url, op("SubmitJob"), { input }, client.token);
  // the runner has read the escrow's window
  await eventually(async () => ((await server.system.db.query(`SELECT 1 FROM escrow_windows`)).length ? true : undefined), 30_000, "the window mirrored");

  // money in escrow is not enough: with a window, an unsigned job needs an allowance
  const none = await submit();
  expect(none.errors?.[0].extensions?.code).toBe("INSUFFICIENT_FUNDS");
  expect(none.errors?.[0].message).toMatch(/spending allowance.*you have set none.*prepareJobOrder/);
  const [{ n: stored }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs j JOIN accounts a ON a.id = j.client_id WHERE a.address = $1`, [client.wallet.address.toLowerCase()]);
  expect(stored).toBe(0);

  // one and a half jobs' worth, for a month
  const until = BigInt((await chain().provider.getBlock("latest"))!.timestamp) + 30n * 86_400n;
  await client.send((o) => client.escrow.approveSpending((HOLD * 3n) / 2n, until, o));
  const first = await eventually(async () => {
    const r = await submit();
    return r.errors ? undefined : (r.data!.submitJob.id as string);
  }, 30_000, "the allowance mirrored and the job taken");
  // the second would take more than is left beside the first
  const second = await submit();
  expect(second.errors?.[0].extensions?.code).toBe("INSUFFICIENT_FUNDS");
  expect(second.errors?.[0].message).toContain("3 OGPU left beside your other unsigned jobs");

  await runToCompletion(provider, nodeId);
  const { batchId } = await eventually(async () => ((await gql(server.url, op("Job"), { id: first }, client.token)).data!.job.settlement ?? undefined) as { batchId: string } | undefined, 90_000, "the job settled");
  const escrow = client.escrow;
  const [log] = await escrow.queryFilter(escrow.filters.BatchCommitted(BigInt(batchId)));
  const committed = await readCommittedBatch(escrow, log);
  const entry = committed.batch.clients.indexOf(client.wallet.address);
  expect(isSet(committed.batch.allowanceBits, entry)).toBe(true);
  expect(await escrow.queryFilter(escrow.filters.AllowanceShort(BigInt(batchId)))).toEqual([]);
  const [left] = (await escrow.allowanceOf(client.wallet.address)) as bigint[];
  expect(left).toBe((HOLD * 3n) / 2n - COST);

  // the debit came off the allowance; what is left (8.4 OGPU) covers another job, and the mirror says what the chain says
  const again = await eventually(async () => {
    const r = await submit();
    return r.errors ? undefined : (r.data!.submitJob.id as string);
  }, 30_000, "the next job taken");
  expect(again).not.toBe(first);
  // (it was taken on the old reading less the batch's unread debit; the runner then reads the allowance again)
  const mirrored = async () => (await server.system.db.query(`SELECT amount_wei, until FROM spending_allowances WHERE address = $1`, [client.wallet.address.toLowerCase()]))[0];
  await eventually(async () => ((await mirrored()).amount_wei === left.toString() ? true : undefined), 30_000, "the allowance read again");
  expect(await mirrored()).toEqual({ amount_wei: left.toString(), until: until.toString() });
});

/** What the client's wallet does with the typed data: eth_signTypedData_v4. */
async function sign(wallet: Wallet, typedData: string): Promise<string> {
  const t = JSON.parse(typedData) as { domain: Record<string, unknown>; types: Record<string, TypedDataField[]>; message: Record<string, unknown> };
  const { EIP712Domain: _domain, ...types } = t.types;
  return wallet.signTypedData(t.domain, types, t.message);
}

it("a thief's batch marks an honest order's nonce first: the marketplace's batch is refused, the order burned, and the job settles from the client's allowance", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  const client = await walletClient(6, wei("100"));
  const until = BigInt((await chain().provider.getBlock("latest"))!.timestamp) + 30n * 86_400n;
  await client.send((o) => client.escrow.approveSpending(wei("10"), until, o));
  const input = jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 });
  const prepared = await gql(server.url, `mutation($input: SubmitJobInput!) { prepareJobOrder(input: $input) { jobId nonce expiry typedData } }`, { input }, client.token);
  const draft = prepared.data!.prepareJobOrder as { jobId: string; nonce: string; expiry: string; typedData: string };
  const submitted = await gql(server.url, op("SubmitJob"), { input: { ...input, order: { jobId: draft.jobId, nonce: draft.nonce, expiry: draft.expiry, signature: await sign(client.wallet, draft.typedData) } } }, client.token);
  expect(submitted.errors).toBeUndefined();

  // the thief marks the order's nonce in a batch of its own (debiting nothing: the nonce is what it is after)
  const thief = escrowAt(await client.escrow.getAddress(), chain().signer(THIEF));
  const burn = buildSettlement(10n ** 12n, [{ jobId: id("burn"), client: client.wallet.address, provider: chain().accounts[THIEF].address, debitWei: 0n, creditWei: 0n, resultHash: ZeroHash, order: { nonce: BigInt(draft.nonce), hash: id("fake") } }]);
  // a fixed gas limit: an estimate can fall short when the marketplace's own transactions land in between
  await (await thief.settle(settleTuple(burn), { gasLimit: 2_000_000 })).wait();
  expect(await client.escrow.isNonceUsed(client.wallet.address, BigInt(draft.nonce))).toBe(true);

  await runToCompletion(provider, nodeId);
  const { batchId } = await eventually(async () => ((await gql(server.url, op("Job"), { id: draft.jobId }, client.token)).data!.job.settlement ?? undefined) as { batchId: string } | undefined, 90_000, "the job settled");
  const [row] = await server.system.db.query(`SELECT burned_at FROM job_orders WHERE job_id = $1`, [draft.jobId]);
  expect(row.burned_at).not.toBeNull();
  // the batch that settled it took the client's allowance, not the burned order
  const [log] = await client.escrow.queryFilter(client.escrow.filters.BatchCommitted(BigInt(batchId)));
  const committed = await readCommittedBatch(client.escrow, log);
  const entry = committed.batch.clients.indexOf(client.wallet.address);
  expect(isSet(committed.batch.allowanceBits, entry)).toBe(true);
  expect(committed.batch.nonceMarks).toEqual([]);
  expect(await client.escrow.queryFilter(client.escrow.filters.AllowanceShort(BigInt(batchId)))).toEqual([]);
  expect((await client.escrow.allowanceOf(client.wallet.address))[0]).toBe(wei("10") - COST);
  expect(await client.escrow.pendingOf(provider.wallet.address)).toBe(COST);
});

it("a waiting unsigned job its allowance stops covering (a decrease requested after it was taken) is expired, its hold released; the one still covered waits on", async () => {
  const m = freshModel();
  // the only offer asks more than the jobs pay: they wait on the book
  await offer(await actor(server), m.gpu(1), "100");
  const client = await walletClient(7, wei("100"));
  const until = BigInt((await chain().provider.getBlock("latest"))!.timestamp) + 30n * 86_400n;
  await client.send((o) => client.escrow.approveSpending(HOLD * 2n, until, o));
  const input = jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 });
  const submit = async () => {
    const r = await gql(server.url, op("SubmitJob"), { input }, client.token);
    return r.errors ? undefined : (r.data!.submitJob.id as string);
  };
  const older = await eventually(submit, 30_000, "the allowance mirrored and the job taken");
  const newer = (await submit())!;
  expect(newer).toBeDefined();
  expect(wei((await client.shown()).held)).toBe(HOLD * 2n);
  const status = async (id: string) => (await gql(server.url, op("Job"), { id }, client.token)).data!.job as { status: string; statusMessage: string | null };

  // the client lowers its allowance to one job's worth: on chain it applies after the withdrawal delay, and the
  // marketplace counts it as applied at once, so the newer job no longer has money the chain will pay with
  await client.send((o) => client.escrow.approveSpending(HOLD, until, o));
  const [, , nextAmount, , nextAt] = (await client.escrow.allowanceOf(client.wallet.address)) as bigint[];
  expect([nextAmount, nextAt > 0n]).toEqual([HOLD, true]);
  const ended = await eventually(async () => {
    const j = await status(newer);
    return j.status === "PENDING" ? undefined : j;
  }, 30_000, "the uncovered job ended");
  expect(ended.status).toBe("EXPIRED");
  expect(ended.statusMessage).toMatch(/spending allowance no longer covers this job/);
  expect((await status(older)).status).toBe("PENDING");
  expect(wei((await client.shown()).held)).toBe(HOLD);
});
