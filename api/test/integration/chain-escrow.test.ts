import { id, MaxUint256, Wallet, parseUnits } from "ethers";
import { escrowAt, stakingAt, tokenAt } from "../../../contracts";
import { createHash } from "node:crypto";
import { actor, eventually, freshModel, jobInput, onlineOffer } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, signIn, startTestServer, type TestServer } from "../harness";
import { SteppedClock } from "../../services/clock";

jest.setTimeout(120_000);

let server: TestServer;
/** The time the server bills by: the settlement test steps it over the run time it charges (leases of 10 minutes never lapse in that step). */
const clock = new SteppedClock();
beforeAll(async () => {
  server = await startTestServer(
    { DATABASE_URL: await privateDatabaseUrl("chain"), CHAIN_PORT: String(await freePort()), INDEXER_POLL_MS: "100", CHAIN_CONFIRMATIONS: "2", SETTLEMENT_MAX_AGE_SECONDS: "0", SETTLEMENT_INTERVAL_MS: "300", LEASE_SECONDS: "600" },
    { api: true, worker: true, indexer: true },
    clock,
  );
});
afterAll(() => server.stop());

const OGPU = 10n ** 18n;

async function escrowShown(token: string) {
  const r = await gql(server.url, op("Me"), {}, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const withdrawal = await gql(server.url, `query { me { escrow { withdrawing debt } } }`, {}, token);
  return { ...(r.data!.me.escrow as { deposited: string; held: string; available: string }), ...(withdrawal.data!.me.escrow as { withdrawing: string; debt: string }) };
}

it("mirrors deposits and withdrawals made on the dev chain into the escrow submitJob holds from, and undoes a deposit that a reorg removed", async () => {
  const chain = server.system.devChain!;
  expect(chain).toBeDefined();
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const wallet = new Wallet(chain.accounts[5].privateKey, chain.provider);
  const { token } = await signIn(server.url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const ogpu = tokenAt(contracts.token, wallet);
  const escrow = escrowAt(contracts.escrow, wallet);
  const send = async (call: Promise<{ wait: () => Promise<unknown> }>) => (await call).wait();
  const nonce = () => chain.provider.getTransactionCount(wallet.address, "latest");

  await send(ogpu.approve(contracts.escrow, parseUnits("1000", 18), { nonce: await nonce() }));
  await send(escrow.deposit(parseUnits("100", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).available === "100" ? true : undefined), 20_000, "the deposit mirrored");
  // a withdrawal in two steps: the request stops counting as available at once, the withdrawal after the delay
  await send(escrow.requestWithdraw(parseUnits("30", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).withdrawing === "30" ? true : undefined), 20_000, "the request mirrored");
  expect(await escrowShown(token)).toMatchObject({ deposited: "100", available: "70" });
  await chain.increaseTime(Number(await escrow.withdrawDelay()));
  await send(escrow.withdraw({ nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).deposited === "70" ? true : undefined), 20_000, "the withdrawal mirrored");
  expect(await escrowShown(token)).toMatchObject({ withdrawing: "0", available: "70" });
  expect(BigInt(await escrow.balanceOf(wallet.address))).toBe(70n * OGPU);

  // a deposit in blocks that a reorg replaces is undone
  const snapshot = await chain.snapshot();
  await send(escrow.deposit(parseUnits("50", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).deposited === "120" ? true : undefined), 20_000, "the second deposit mirrored");
  await chain.revert(snapshot);
  await chain.mine(3);
  await eventually(async () => ((await escrowShown(token)).deposited === "70" ? true : undefined), 20_000, "the reorged deposit undone");
  const events = await gql(server.url, op("ChainEvents"), { address: wallet.address, first: 20 });
  const deposits = events.data!.chainEvents.edges.filter((e: { node: { name: string } }) => e.node.name === "Deposited");
  expect(deposits).toHaveLength(1);

  // the mirrored escrow is what submitJob holds from
  const job = await gql(
    server.url,
    op("SubmitJob"),
    { input: { kind: "OTHER", command: ["true"], requirements: { gpuCount: 1, minVramGb: 1, maxPricePerGpuHour: "60", maxDurationSeconds: 3600 } } },
    token,
  );
  expect(job.errors).toBeUndefined();
  expect(await escrowShown(token)).toMatchObject({ deposited: "70", held: "60", available: "10" });
  const tooBig = await gql(
    server.url,
    op("SubmitJob"),
    { input: { kind: "OTHER", command: ["true"], requirements: { gpuCount: 1, minVramGb: 1, maxPricePerGpuHour: "11", maxDurationSeconds: 3600 } } },
    token,
  );
  expect(tooBig.errors?.[0].extensions?.code).toBe("INSUFFICIENT_FUNDS");
  await gql(server.url, op("CancelJob"), { id: job.data!.submitJob.id }, token);
  expect((await escrowShown(token)).available).toBe("70");
});

it("settles completed work on chain in a batch: the indexer marks the job settled and chain and API balances agree to the wei", async () => {
  const chain = server.system.devChain!;
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const wallet = new Wallet(chain.accounts[6].privateKey, chain.provider);
  const { token } = await signIn(server.url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const ogpu = tokenAt(contracts.token, wallet);
  const escrow = escrowAt(contracts.escrow, wallet);
  const nonce = () => chain.provider.getTransactionCount(wallet.address, "latest");
  await (await ogpu.approve(contracts.escrow, parseUnits("100", 18), { nonce: await nonce() })).wait();
  await (await escrow.deposit(parseUnits("100", 18), { nonce: await nonce() })).wait();
  await eventually(async () => ((await escrowShown(token)).available === "100" ? true : undefined), 20_000, "the deposit mirrored");

  const m = freshModel();
  const provider = await actor(server);
  const { nodeId } = await onlineOffer(server, provider, m.gpu(1), "36", 1);
  const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }) }, token)).data!.submitJob.id as string;
  const assignment = await eventually(async () => (await gql(server.url, op("PendingAssignments"), { nodeId }, provider.token)).data!.assignments[0], 10_000, "the assignment");
  await gql(server.url, op("StartAssignment"), { id: assignment.id }, provider.token);
  clock.advance(30_000);
  const done = await gql(server.url, op("CompleteAssignment"), { id: assignment.id, resultHash: createHash("sha256").update("r").digest("hex") }, provider.token);
  expect(done.data!.completeAssignment.job.status).toBe("COMPLETED");

  const settled = await eventually(async () => {
    const j = await gql(server.url, op("Job"), { id: jobId }, token);
    return j.data!.job.settlement ? j.data!.job : undefined;
  }, 30_000, "the job settled on chain");
  const cost = settled.cost as string;
  expect(settled.settlement.amount).toBe(cost);
  const batches = await gql(server.url, op("Settlements"), { first: 5 });
  const batch = batches.data!.settlements.edges.find((e: { node: { batchId: string } }) => e.node.batchId === settled.settlement.batchId).node;
  expect(batch).toMatchObject({ jobCount: 1, totalAmount: cost, txHash: settled.settlement.txHash });
  expect(["CONFIRMED", "FINALIZED"]).toContain(batch.status);
  expect(BigInt(batch.gasUsed)).toBeGreaterThan(0n);

  // chain and API agree to the wei: the client's free escrow on chain is the API's available, the provider can claim the cost
  // the seconds billed (the 30 s stepped over and what the requests took) at 36 OGPU per GPU-hour: 10^16 wei a second
  const [{ run_seconds: seconds }] = await server.system.db.query(`SELECT run_seconds FROM charges WHERE job_id = $1`, [jobId]);
  expect(seconds).toBeGreaterThanOrEqual(30);
  const costWei = BigInt(seconds) * 10n ** 16n;
  expect(cost).toBe(formatOgpu(costWei));
  // the chain also holds unsettled charges: once the batch is confirmed the hold on chain drops to the marketplace's (0)
  await eventually(async () => (BigInt(await escrow.freeBalanceOf(wallet.address)) === 100n * OGPU - costWei ? true : undefined), 20_000, "the free balance on chain");
  expect(await escrowShown(token)).toEqual({ deposited: "100", held: "0", available: formatOgpu(100n * OGPU - costWei), withdrawing: "0", debt: "0" });
  expect(BigInt(await escrow.claimableOf(provider.wallet.address))).toBe(costWei);
  await eventually(async () => {
    const b = await gql(server.url, op("Settlements"), { first: 5 });
    return b.data!.settlements.edges.some((e: { node: { batchId: string; status: string } }) => e.node.batchId === settled.settlement.batchId && e.node.status === "FINALIZED") ? true : (await chain.mine(1), undefined);
  }, 20_000, "the batch final");
  // the node's provider sees it settled (claimable on chain)
  const mine = await gql(server.url, op("MyNodes"), {}, provider.token);
  expect(mine.data!.myNodes.find((x: { id: string }) => x.id === nodeId).earnings).toEqual({ settled: cost, pending: "0" });
});

function formatOgpu(wei: bigint): string {
  const frac = (wei % OGPU).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${wei / OGPU}.${frac}` : `${wei / OGPU}`;
}

it("mirrors a provider's stake: staking, unbonding, and a slash taken from staked first", async () => {
  const chain = server.system.devChain!;
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const provider = new Wallet(chain.accounts[7].privateKey, chain.provider);
  const nonce = (w: Wallet) => chain.provider.getTransactionCount(w.address, "latest");
  const staking = stakingAt(contracts.staking, provider);
  await (await tokenAt(contracts.token, provider).approve(contracts.staking, MaxUint256, { nonce: await nonce(provider) })).wait();
  await (await staking.stake(parseUnits("1000", 18), { nonce: await nonce(provider) })).wait();
  await (await staking.requestUnstake(parseUnits("200", 18), { nonce: await nonce(provider) })).wait();
  const admin = chain.signer(0);
  await (await stakingAt(contracts.staking, admin).slash(provider.address, parseUnits("50", 18), id("lost votes"), { nonce: await nonce(admin) })).wait();
  const stake = await eventually(async () => {
    const r = await gql(server.url, op("Account"), { address: provider.address });
    return r.data!.account.stake.slashed === "50" ? r.data!.account.stake : undefined;
  }, 20_000, "the stake mirrored");
  expect(stake).toEqual({ staked: "750", unbonding: "200", slashed: "50" });
  const [onChainStaked, onChainUnbonding] = await stakingAt(contracts.staking, provider).stakeOf(provider.address);
  expect([BigInt(onChainStaked), BigInt(onChainUnbonding)]).toEqual([750n * OGPU, 200n * OGPU]);
});

it("slashes a staked provider whose results lose the vote three times (5% of its stake, through Staking.slash)", async () => {
  const chain = server.system.devChain!;
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const liarWallet = new Wallet(chain.accounts[8].privateKey, chain.provider);
  const nonce = () => chain.provider.getTransactionCount(liarWallet.address, "latest");
  await (await tokenAt(contracts.token, liarWallet).approve(contracts.staking, MaxUint256, { nonce: await nonce() })).wait();
  await (await stakingAt(contracts.staking, liarWallet).stake(parseUnits("1000", 18), { nonce: await nonce() })).wait();
  const { token: liarToken } = await signIn(server.url, liarWallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const [row] = await server.system.db.query(`SELECT id FROM accounts WHERE address = $1`, [liarWallet.address.toLowerCase()]);
  const liar = { token: liarToken, wallet: liarWallet as unknown as ReturnType<typeof Wallet.createRandom>, accountId: row.id as string };
  await eventually(async () => ((await gql(server.url, op("Account"), { address: liarWallet.address })).data!.account.stake.staked === "1000" ? true : undefined), 20_000, "the stake mirrored");

  const m = freshModel();
  const honest = [await actor(server), await actor(server)];
  const nodes = new Map<string, string>();
  for (const p of [...honest, liar]) nodes.set(p.accountId, (await onlineOffer(server, p, m.gpu(1), "2", 1)).nodeId);
  const client = await actor(server);
  await server.system.db.query(`INSERT INTO escrow_balances (account_id, deposited_wei) VALUES ($1, $2)`, [client.accountId, (100n * OGPU).toString()]);
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  for (let round = 0; round < 3; round++) {
    const jobId = (await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, { redundancy: 3, maxPricePerGpuHour: "3" }) }, client.token)).data!.submitJob.id;
    for (const p of [...honest, liar]) {
      const a = await eventually(async () => (await gql(server.url, op("PendingAssignments"), { nodeId: nodes.get(p.accountId) }, p.token)).data!.assignments[0], 10_000, "an assignment");
      await gql(server.url, op("StartAssignment"), { id: a.id }, p.token);
      await gql(server.url, op("CompleteAssignment"), { id: a.id, resultHash: p === liar ? sha(`lie ${round}`) : sha(`truth ${round}`) }, p.token);
    }
    const j = await gql(server.url, op("Job"), { id: jobId }, client.token);
    expect(j.data!.job.result).toMatchObject({ hash: sha(`truth ${round}`), agreedBy: 2 });
  }
  const stake = await eventually(async () => {
    const r = await gql(server.url, op("Account"), { address: liarWallet.address });
    return r.data!.account.stake.slashed !== "0" ? r.data!.account.stake : undefined;
  }, 20_000, "the slash on chain");
  expect(stake).toEqual({ staked: "950", unbonding: "0", slashed: "50" });
  expect(Number((await gql(server.url, op("Account"), { address: liarWallet.address })).data!.account.reputation.score)).toBeLessThan(0.5);
});

it("holds on chain what the marketplace holds: a client cannot withdraw escrow a job may still spend", async () => {
  const chain = server.system.devChain!;
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const wallet = new Wallet(chain.accounts[9].privateKey, chain.provider);
  const { token } = await signIn(server.url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const escrow = escrowAt(contracts.escrow, wallet);
  const nonce = () => chain.provider.getTransactionCount(wallet.address, "latest");
  await (await tokenAt(contracts.token, wallet).approve(contracts.escrow, MaxUint256, { nonce: await nonce() })).wait();
  await (await escrow.deposit(parseUnits("100", 18), { nonce: await nonce() })).wait();
  await eventually(async () => ((await escrowShown(token)).available === "100" ? true : undefined), 20_000, "the deposit mirrored");
  const job = await gql(
    server.url,
    op("SubmitJob"),
    { input: { kind: "OTHER", command: ["true"], requirements: { gpuCount: 1, minVramGb: 1, gpuModels: ["B200"], maxPricePerGpuHour: "60", maxDurationSeconds: 3600 } } },
    token,
  );
  expect(job.errors).toBeUndefined();
  await eventually(async () => (BigInt(await escrow.heldOf(wallet.address)) === 60n * OGPU ? true : undefined), 20_000, "the hold on chain");
  // asking for 50 leaves the job's 60 unbacked: it waits; after the delay the chain pays only the free 40
  await (await escrow.requestWithdraw(parseUnits("50", 18), { nonce: await nonce() })).wait();
  await eventually(async () => ((await escrowShown(token)).withdrawing === "50" ? true : undefined), 20_000, "the request mirrored");
  expect((await escrowShown(token)).available).toBe("0");
  await chain.increaseTime(Number(await escrow.withdrawDelay()));
  await (await escrow.withdraw({ nonce: await nonce() })).wait();
  expect(BigInt(await escrow.balanceOf(wallet.address))).toBe(60n * OGPU);
  expect(BigInt(await escrow.heldOf(wallet.address))).toBe(60n * OGPU);
  await gql(server.url, op("CancelJob"), { id: job.data!.submitJob.id }, token);
  await eventually(async () => (BigInt(await escrow.heldOf(wallet.address)) === 0n ? true : undefined), 20_000, "the hold released on chain");
  await eventually(async () => ((await escrowShown(token)).available === "60" ? true : undefined), 20_000, "the withdrawal mirrored");
});
