import { actor, eventually, freshModel, jobInput, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, startTestServer, type TestServer } from "../harness";
import { chainSystem, OGPU, sha, wei } from "../chain-system";

/**
 * The withdraw-before-mirror attack against the whole system (api, worker, indexer, settlement on the in-process
 * chain): a client that asks for its deposit back as its job is matched cannot take the job's money (the chain
 * holds it before the request unlocks) and a job whose money is being withdrawn does not start; and a client whose
 * balance cannot cover its charge (a reorg removed its deposit after its job started) does not fail the batch: its
 * line becomes a debt, every other line settles, and chain and API agree to the wei before and after it is paid.
 */
jest.setTimeout(300_000);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    {
      DATABASE_URL: await privateDatabaseUrl("shortfall"),
      CHAIN_PORT: String(await freePort()),
      INDEXER_POLL_MS: "100",
      CHAIN_CONFIRMATIONS: "2",
      // charges completed within 3 s of each other go into one batch
      SETTLEMENT_MAX_AGE_SECONDS: "3",
      SETTLEMENT_INTERVAL_MS: "300",
      FEE_BPS: "500",
    },
    { api: true, worker: true, indexer: true },
  );
});
afterAll(() => server.stop());

/** 36 OGPU per GPU-hour for at least 60 s: every job here costs 0.6 OGPU, of which 5% is the fee. */
const COST = (36n * OGPU * 60n) / 3600n;
const CREDIT = COST - (COST * 500n) / 10_000n;

const { chain, walletClient, depositMirrored, offer, earnings } = chainSystem(() => server);

const submit = async (token: string, model: string) => {
  const r = await gql(server.url, op("SubmitJob"), { input: jobInput(model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }) }, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.submitJob.id as string;
};
const assignmentOn = (provider: Actor, nodeId: string) =>
  eventually(async () => (await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).data!.assignments[0] as { id: string } | undefined, 20_000, "the assignment");
async function run(provider: Actor, nodeId: string): Promise<string> {
  const a = await assignmentOn(provider, nodeId);
  await gql(server.url, op("StartAssignment"), { id: a.id }, provider.token);
  return a.id;
}
async function complete(provider: Actor, assignmentId: string): Promise<void> {
  const done = await gql(server.url, op("CompleteAssignment"), { id: assignmentId, resultHash: sha(assignmentId) }, provider.token);
  expect(done.data!.completeAssignment.job.status).toBe("COMPLETED");
}

async function batchOfJob(token: string, jobId: string) {
  return eventually(async () => ((await gql(server.url, op("Job"), { id: jobId }, token)).data!.job.settlement ?? undefined) as { batchId: string } | undefined, 90_000, "the job settled");
}
async function settlementNode(batchId: string) {
  const r = await gql(server.url, `query { settlements(first: 50) { edges { node { batchId status jobCount debts { debtId client amount paid } } } } }`);
  return (r.data!.settlements.edges as { node: { batchId: string; status: string; jobCount: number; debts: { client: string; amount: string; paid: boolean }[] } }[]).find((e) => e.node.batchId === batchId)?.node;
}

it("the withdraw-before-mirror attack fails: the chain will not pay a withdrawal at once, nor take a matched job's money after the delay; both clients' jobs settle in one batch", async () => {
  const m = freshModel();
  const [p1, p2] = [await actor(server), await actor(server)];
  const attacker = await walletClient(10, wei("100"));
  const honest = await walletClient(11, wei("100"));

  // the attacker's job is matched; at once it asks for everything back and tries to take it
  const n1 = await offer(p1, m.gpu(1));
  const attackJob = await submit(attacker.token, m.model);
  const onP1 = await run(p1, n1);
  await attacker.send((o) => attacker.escrow.requestWithdraw(wei("100"), o));
  const early = await attacker.escrow.withdraw().catch((err: { data?: string }) => err);
  expect(attacker.escrow.interface.parseError(early.data)?.name).toBe("WithdrawalLocked");
  const n2 = await offer(p2, m.gpu(1));
  const honestJob = await submit(honest.token, m.model);
  const onP2 = await run(p2, n2);
  // within the delay the marketplace mirrors the job's hold; after it, the chain pays only what is not held
  await eventually(async () => (BigInt(await attacker.escrow.heldOf(attacker.wallet.address)) >= wei("6") ? true : undefined), 20_000, "the hold on chain");
  await chain().increaseTime(Number(await attacker.escrow.withdrawDelay()));
  await attacker.send((o) => attacker.escrow.withdraw(o));
  const kept = BigInt(await attacker.escrow.balanceOf(attacker.wallet.address));
  expect(kept).toBe(BigInt(await attacker.escrow.heldOf(attacker.wallet.address)));
  expect(kept >= wei("6")).toBe(true);

  await complete(p1, onP1);
  await complete(p2, onP2);
  const { batchId } = await batchOfJob(attacker.token, attackJob);
  expect((await batchOfJob(honest.token, honestJob)).batchId).toBe(batchId);
  const batch = await eventually(async () => {
    const b = await settlementNode(batchId);
    return b && ["CONFIRMED", "FINALIZED"].includes(b.status) ? b : undefined;
  }, 90_000, "the batch confirmed");
  expect(batch).toMatchObject({ jobCount: 2, debts: [] });
  // chain and API agree to the wei: both providers can claim their credit; the attacker kept exactly what was held for its job
  for (const p of [p1, p2]) {
    expect(BigInt(await attacker.escrow.claimableOf(p.wallet.address))).toBe(CREDIT);
    expect(await earnings(p)).toEqual({ settled: CREDIT, pending: 0n });
  }
  for (const c of [attacker, honest]) await eventually(async () => (BigInt(await c.escrow.heldOf(c.wallet.address)) === 0n ? true : undefined), 20_000, "the holds released on chain");
  expect(BigInt(await attacker.escrow.freeBalanceOf(attacker.wallet.address))).toBe(kept - COST);
  expect(wei((await attacker.shown()).available)).toBe(kept - COST);
  expect(wei((await honest.shown()).available)).toBe(BigInt(await honest.escrow.freeBalanceOf(honest.wallet.address)));
});

it("a job whose client asked for its money back does not start while the request is pending, and starts once it is cancelled", async () => {
  const m = freshModel();
  await offer(await actor(server), m.gpu(1), "100"); // the market exists; its only offer is above the job's cap
  const client = await walletClient(12, wei("10"));
  const jobId = await submit(client.token, m.model);
  await client.send((o) => client.escrow.requestWithdraw(wei("10"), o));
  await eventually(async () => ((await client.shown()).withdrawing === "10" ? true : undefined), 20_000, "the request mirrored");
  expect(await client.shown()).toMatchObject({ held: "6", available: "0" });

  // an offer that crosses the resting job arrives: the job is held back, not placed
  const provider = await actor(server);
  const nodeId = await offer(provider, m.gpu(1));
  await eventually(async () => {
    const [row] = await server.system.db.query(`SELECT status, status_message FROM jobs WHERE id = $1`, [jobId]);
    return row.status === "PENDING" && /no longer covers/.test(row.status_message ?? "") ? true : undefined;
  }, 20_000, "the job held back");
  expect((await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).data!.assignments).toEqual([]);

  // the client cancels the request: the next offer places the job
  await client.send((o) => client.escrow.requestWithdraw(0n, o));
  await eventually(async () => ((await client.shown()).withdrawing === "0" ? true : undefined), 20_000, "the cancel mirrored");
  const second = await offer(await actor(server), m.gpu(1));
  await eventually(async () => {
    const [row] = await server.system.db.query(`SELECT status FROM jobs WHERE id = $1`, [jobId]);
    return row.status === "MATCHED" ? true : undefined;
  }, 20_000, "the job matched");
  expect(second).toBeDefined();
});

it("a client whose deposit a reorg removed after its job started does not fail the batch: its line is a debt, the other line settles, and the debt is paid from its next deposit", async () => {
  const m = freshModel();
  const [p1, p2] = [await actor(server), await actor(server)];
  const honest = await walletClient(13, wei("100"));
  const broke = await walletClient(14, 0n);
  const beforeDeposit = await chain().snapshot();
  await depositMirrored(broke, wei("100"));
  const n1 = await offer(p1, m.gpu(1));
  const brokeJob = await submit(broke.token, m.model);
  const onP1 = await run(p1, n1);
  const n2 = await offer(p2, m.gpu(1));
  const honestJob = await submit(honest.token, m.model);
  const onP2 = await run(p2, n2);

  // the broke client's deposit is in blocks a reorg replaces; its job is already running. (Once both holds are on
  // chain no holds transaction is in flight when the blocks go: a pass waiting on one that vanished waits 30 s.)
  for (const c of [broke, honest]) await eventually(async () => (BigInt(await c.escrow.heldOf(c.wallet.address)) === wei("6") ? true : undefined), 20_000, "the hold on chain");
  await chain().revert(beforeDeposit);
  await chain().mine(3);
  await eventually(async () => ((await broke.shown()).deposited === "0" ? true : undefined), 20_000, "the reorged deposit undone");
  await complete(p1, onP1);
  await complete(p2, onP2);

  const { batchId } = await batchOfJob(honest.token, honestJob);
  const batch = await eventually(async () => {
    const b = await settlementNode(batchId);
    return b && ["CONFIRMED", "FINALIZED"].includes(b.status) && b.debts.length > 0 ? b : undefined;
  }, 90_000, "the batch confirmed with its debt");
  expect(batch).toMatchObject({ jobCount: 2, debts: [{ client: broke.wallet.address, amount: "0.6", paid: false }] });
  expect((await gql(server.url, op("Job"), { id: brokeJob }, broke.token)).data!.job.settlement).toBeNull();
  // chain and API agree to the wei: the honest provider is paid, the broke client's provider waits, the debt is owed
  const escrow = honest.escrow;
  expect(BigInt(await escrow.claimableOf(p2.wallet.address))).toBe(CREDIT);
  expect(await earnings(p2)).toEqual({ settled: CREDIT, pending: 0n });
  expect(BigInt(await escrow.claimableOf(p1.wallet.address))).toBe(0n);
  expect(await earnings(p1)).toEqual({ settled: 0n, pending: CREDIT });
  expect(BigInt(await escrow.debtOf(broke.wallet.address))).toBe(COST);
  expect(await broke.shown()).toMatchObject({ deposited: "0", available: "0", debt: "0.6" });
  await eventually(async () => (BigInt(await escrow.heldOf(honest.wallet.address)) === 0n ? true : undefined), 20_000, "the honest hold released on chain");
  expect(wei((await honest.shown()).available)).toBe(BigInt(await escrow.freeBalanceOf(honest.wallet.address)));
  expect(BigInt(await escrow.freeBalanceOf(honest.wallet.address))).toBe(wei("100") - COST);

  // the broke client deposits again: the settlement pass pays the debt, and its provider is credited
  await depositMirrored(broke, wei("50"));
  await eventually(async () => ((await broke.shown()).debt === "0" ? true : undefined), 90_000, "the debt paid");
  expect(BigInt(await escrow.debtOf(broke.wallet.address))).toBe(0n);
  expect(BigInt(await escrow.claimableOf(p1.wallet.address))).toBe(CREDIT);
  await eventually(async () => ((await earnings(p1)).settled === CREDIT ? true : undefined), 20_000, "the provider's earnings settled");
  expect(await earnings(p1)).toEqual({ settled: CREDIT, pending: 0n });
  expect((await batchOfJob(broke.token, brokeJob)).batchId).toBe(batchId);
  expect((await settlementNode(batchId))!.debts).toEqual([{ debtId: "1", client: broke.wallet.address, amount: "0.6", paid: true }]);
  expect(wei((await broke.shown()).available)).toBe(wei("50") - COST);
  await eventually(async () => (BigInt(await escrow.heldOf(broke.wallet.address)) === 0n ? true : undefined), 20_000, "no hold left for it on chain");
  expect(BigInt(await escrow.freeBalanceOf(broke.wallet.address))).toBe(wei("50") - COST);
});
