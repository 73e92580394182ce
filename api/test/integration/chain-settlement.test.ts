import { dedicatedConnections } from "../../db/dedicated";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { parseUnits, Wallet, type JsonRpcProvider } from "ethers";
import pino from "pino";
import type { DataSource } from "typeorm";
import { abiOf, escrowAt, nextNonce, ROLES, tokenAt, type Deployment } from "../../../contracts";
import { deployDevContracts, startDevChain, type DevChain } from "../../../contracts/dev-chain";
import { createRpcProvider } from "../../../contracts/rpc";
import { EthersChain } from "../../../indexer/adapters/ethers-chain";
import { createDataSource } from "../../db/data-source";
import { PgChainStore } from "../../db/repositories/chain-store";
import { startIndexer, type IndexerRunner } from "../../chain/indexer.runner";
import { ethersSettlementWriter, payDebts, syncHolds } from "../../chain/settlement.runner";
import { SettlementService } from "../../services/settlement.service";
import { SettlementRetry } from "../../services/settlement-sender";
import { accountOf, eventually, insertCharge } from "../builders";
import { privateDatabaseUrl } from "../databases";

jest.setTimeout(120_000);

const OGPU = 10n ** 18n;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A TCP proxy to the chain that can be switched to accept connections and never answer (a hung node). */
async function switchableProxy(upstreamPort: number): Promise<{ url: string; hang(): void; forward(): void; close(): Promise<void> }> {
  let hanging = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (hanging) return;
    const upstream = connect(upstreamPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dropAll = () => sockets.forEach((s) => s.destroy());
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hang: () => ((hanging = true), dropAll()),
    forward: () => ((hanging = false), dropAll()),
    close: () => (dropAll(), new Promise((r) => server.close(() => r()))),
  };
}

let chain: DevChain;
let deployment: Deployment;
let genesis: string;
let db: DataSource;
let proxy: Awaited<ReturnType<typeof switchableProxy>>;
let provider: JsonRpcProvider;
let indexer: IndexerRunner;
let service: SettlementService;
const settler = Wallet.createRandom();

async function send(call: Promise<{ wait: () => Promise<unknown> }>) {
  await (await call).wait();
}

async function deposit(index: number, amountWei: bigint) {
  const w = chain.signer(index);
  await send(tokenAt(deployment.token, w).approve(deployment.escrow, amountWei, { nonce: await nextNonce(chain.provider, w.address) }));
  await send(escrowAt(deployment.escrow, w).deposit(amountWei, { nonce: await nextNonce(chain.provider, w.address) }));
}

async function deployAndGrant() {
  deployment = await deployDevContracts(chain);
  const admin = chain.signer(0);
  await send(escrowAt(deployment.escrow, admin).grantRole(ROLES.SETTLER_ROLE, settler.address, { nonce: await nextNonce(chain.provider, admin.address) }));
}

const account = (address: string) => accountOf(db, address);
const charge = (client: string, provider: string, amountWei: bigint) => insertCharge(db, client, provider, amountWei);

const batchOf = async (jobId: string) =>
  (await db.query(`SELECT s.batch_id, s.status, s.error, s.payload FROM charges c JOIN settlements s ON s.batch_id = c.settlement_batch WHERE c.job_id = $1`, [jobId]))[0];
const writer = () => ethersSettlementWriter(provider, deployment.escrow, settler.connect(provider));
const isSettledOnChain = async (batchId: string) => Boolean(await escrowAt(deployment.escrow, chain.provider).isSettled(BigInt(batchId)));

async function settleAll(now = new Date()) {
  while ((await service.gather(now)) !== undefined);
  return service.submit(writer(), now);
}

beforeAll(async () => {
  chain = await startDevChain({ port: 0 });
  genesis = await chain.snapshot();
  await deployAndGrant();
  const databaseUrl = await privateDatabaseUrl("chainsettle");
  db = createDataSource(databaseUrl, 4);
  await db.initialize();
  proxy = await switchableProxy(chain.port);
  provider = createRpcProvider(proxy.url, chain.chainId, { timeoutMs: 300, retries: 1, backoffMs: 20, pollingIntervalMs: 50 });
  const contracts = [
    { address: deployment.escrow, abi: abiOf("Escrow") },
    { address: deployment.staking, abi: abiOf("Staking") },
  ];
  indexer = await startIndexer({
    connect: dedicatedConnections(databaseUrl),
    chain: new EthersChain(provider, contracts),
    store: new PgChainStore(db, BigInt(chain.chainId)),
    settings: { startBlock: 1n, span: 1n, maxSpan: 500n, confirmations: 2n, keepBlocks: 64 },
    pollMs: 50,
    maxBackoffMs: 200,
    logger,
  });
  service = new SettlementService(db, { chainId: BigInt(chain.chainId), escrow: deployment.escrow, batchSize: 10, maxAgeMs: 0, feeBps: 0, dropAfterMs: 0, receiptWaitMs: 2000, retryBaseMs: 1000 });
});

afterAll(async () => {
  await indexer?.stop();
  provider?.destroy();
  await proxy?.close();
  await db?.destroy();
  await chain?.stop();
});

it("retries a settler with no gas money (never FAILED) and settles the batch once the settler is funded", async () => {
  await deposit(5, 100n * OGPU);
  const job = await charge(chain.accounts[5].address, chain.accounts[10].address, OGPU);
  const stopped = await settleAll().catch((err) => err);
  expect(stopped).toBeInstanceOf(SettlementRetry);
  expect(stopped.failure.retryable).toBe(true);
  expect(await batchOf(job)).toMatchObject({ status: "PENDING", error: expect.stringMatching(/funds/i) });
  await expect(settleAll()).rejects.toBeInstanceOf(SettlementRetry);
  expect((await batchOf(job)).status).toBe("PENDING");

  const admin = chain.signer(0);
  await send(admin.sendTransaction({ to: settler.address, value: parseUnits("1", 18), nonce: await nextNonce(chain.provider, admin.address) }));
  const r = await settleAll();
  expect(r.sent).toBe(1);
  const batch = await batchOf(job);
  expect(await isSettledOnChain(batch.batch_id)).toBe(true);
  await eventually(async () => (["CONFIRMED", "FINALIZED"].includes((await batchOf(job)).status) ? true : undefined), 20_000, "the batch confirmed by the indexer");
});

it("settles a batch in which one client cannot pay: that client's line becomes a debt on chain, every other line settles, and the debt is paid once the client deposits", async () => {
  const [payer, broke, paid, waiting] = [chain.accounts[5], chain.accounts[6], chain.accounts[12], chain.accounts[13]];
  const payable = await charge(payer.address, paid.address, OGPU);
  const owed = await charge(broke.address, waiting.address, 2n * OGPU);
  const r = await settleAll();
  expect(r.refused).toEqual([]);
  const batch = await batchOf(payable);
  const escrow = escrowAt(deployment.escrow, chain.provider);
  expect(await isSettledOnChain(batch.batch_id)).toBe(true);
  const debtId = 1n;
  expect(await escrow.isDebtOpen(debtId)).toBe(true);
  expect(BigInt(await escrow.debtOf(broke.address))).toBe(2n * OGPU);
  expect(BigInt(await escrow.claimableOf(waiting.address))).toBe(0n);
  expect(BigInt(await escrow.claimableOf(paid.address))).toBe(OGPU);

  // the indexer: the batch CONFIRMED, the broke client's charge out of it (in its debt), its debt mirrored
  await eventually(async () => (["CONFIRMED", "FINALIZED"].includes((await batchOf(payable)).status) ? true : undefined), 20_000, "the batch confirmed");
  const line = async () => (await db.query(`SELECT settlement_batch, debt_batch, debt_id FROM charges WHERE job_id = $1`, [owed]))[0];
  await eventually(async () => ((await line()).debt_batch === batch.batch_id ? true : undefined), 20_000, "the debt mirrored");
  expect(await line()).toEqual({ settlement_batch: null, debt_batch: batch.batch_id, debt_id: "1" });
  const debtOf = async () => (await db.query(`SELECT b.debt_wei FROM escrow_balances b JOIN accounts a ON a.id = b.account_id WHERE a.address = $1`, [broke.address.toLowerCase()]))[0]?.debt_wei;
  expect(await debtOf()).toBe((2n * OGPU).toString());
  const [view] = (await service.list(20, null)).settlements.filter((s) => s.batchId.toString() === batch.batch_id);
  expect(view.debts).toEqual([{ debtId, client: broke.address.toLowerCase(), amountWei: 2n * OGPU, paid: false }]);

  // nothing to pay it with: the pass leaves it; once the client deposits, the pass pays it and the provider is credited
  expect(await payDebts(db, provider, deployment.escrow, settler.connect(provider), logger)).toBe(0);
  await deposit(6, 10n * OGPU);
  expect(await payDebts(db, provider, deployment.escrow, settler.connect(provider), logger)).toBe(1);
  expect(BigInt(await escrow.claimableOf(waiting.address))).toBe(2n * OGPU);
  expect(BigInt(await escrow.balanceOf(broke.address))).toBe(8n * OGPU);
  await eventually(async () => ((await line()).settlement_batch === batch.batch_id ? true : undefined), 20_000, "the paid debt mirrored");
  expect(await line()).toEqual({ settlement_batch: batch.batch_id, debt_batch: null, debt_id: "1" });
  expect(await debtOf()).toBe("0");
  expect(await payDebts(db, provider, deployment.escrow, settler.connect(provider), logger)).toBe(0);
});

it("abandons calls to a node that accepts connections and never answers, says since when, and catches up by itself once it answers", async () => {
  const [client] = [chain.accounts[7].address.toLowerCase()];
  await eventually(async () => (indexer.health().reachable ? true : undefined), 10_000, "the indexer following");
  proxy.hang();
  const started = Date.now();
  await expect(provider.getBlockNumber()).rejects.toMatchObject({ code: "TIMEOUT" });
  expect(Date.now() - started).toBeLessThan(2000);
  const down = await eventually(async () => (indexer.health().reachable === false ? indexer.health() : undefined), 10_000, "the outage seen");
  expect(down.unreachableSince).toBeInstanceOf(Date);

  await deposit(7, 42n * OGPU);
  const mirrored = async () => (await db.query(`SELECT b.deposited_wei FROM escrow_balances b JOIN accounts a ON a.id = b.account_id WHERE a.address = $1`, [client]))[0]?.deposited_wei;
  expect(await mirrored()).toBeUndefined();
  proxy.forward();
  const answered = Date.now();
  await eventually(async () => ((await mirrored()) === (42n * OGPU).toString() ? true : undefined), 10_000, "the deposit indexed after the node answered");
  expect(Date.now() - answered).toBeLessThan(5000);
  expect(indexer.health()).toMatchObject({ reachable: true, unreachableSince: null });
});

it("after a dev chain reset, sends vanished batches again under the same ids and mirrors holds again, so a client cannot withdraw what its pending job holds", async () => {
  const settledBefore: { batch_id: string }[] = await db.query(`SELECT batch_id FROM settlements WHERE status IN ('CONFIRMED', 'FINALIZED') ORDER BY batch_id`);
  expect(settledBefore.length).toBeGreaterThanOrEqual(2);
  const client = chain.accounts[8];
  await deposit(8, 100n * OGPU);
  const clientId = await account(client.address);
  await eventually(async () => ((await db.query(`SELECT deposited_wei FROM escrow_balances WHERE account_id = $1`, [clientId]))[0]?.deposited_wei === (100n * OGPU).toString() ? true : undefined), 10_000, "the deposit mirrored");
  await db.query(`UPDATE escrow_balances SET held_wei = $2 WHERE account_id = $1`, [clientId, (100n * OGPU).toString()]);
  await syncHolds(db, provider, deployment.escrow, settler.connect(provider));
  expect(BigInt(await escrowAt(deployment.escrow, chain.provider).heldOf(client.address))).toBe(100n * OGPU);

  const { timestamp } = (await chain.provider.getBlock("latest"))!;
  await chain.revert(genesis);
  await chain.provider.send("evm_setNextBlockTimestamp", [timestamp + 1000]);
  await deployAndGrant();
  const admin = chain.signer(0);
  await send(admin.sendTransaction({ to: settler.address, value: parseUnits("1", 18), nonce: await nextNonce(chain.provider, admin.address) }));

  await eventually(async () => ((await db.query(`SELECT count(*)::int AS n FROM settlements WHERE status IN ('CONFIRMED', 'FINALIZED')`))[0].n === 0 ? true : undefined), 20_000, "the indexer's rewind to genesis");
  expect((await db.query(`SELECT chain_held_wei FROM escrow_balances WHERE account_id = $1`, [clientId]))[0].chain_held_wei).toBe("0");

  // the clients deposit on the new chain; the vanished batches go again under their ids, the hold is mirrored again
  await deposit(5, 100n * OGPU);
  await deposit(6, 10n * OGPU);
  await deposit(8, 100n * OGPU);
  await eventually(async () => ((await db.query(`SELECT deposited_wei FROM escrow_balances WHERE account_id = $1`, [clientId]))[0].deposited_wei === (100n * OGPU).toString() ? true : undefined), 10_000, "the new deposit mirrored");
  await syncHolds(db, provider, deployment.escrow, settler.connect(provider));
  const escrow = escrowAt(deployment.escrow, chain.signer(8));
  expect(BigInt(await escrow.heldOf(client.address))).toBe(100n * OGPU);
  await send(escrow.requestWithdraw(100n * OGPU, { nonce: await nextNonce(chain.provider, client.address) }));
  await chain.increaseTime(Number(await escrow.withdrawDelay()));
  const refused = await escrow.withdraw({ nonce: await nextNonce(chain.provider, client.address) }).catch((err) => err);
  expect(escrow.interface.parseError(refused.data)?.name).toBe("InsufficientFreeBalance");

  const r = await settleAll();
  expect(r.resent.map((x) => x.batchId.toString()).sort()).toEqual(settledBefore.map((b) => b.batch_id).sort());
  for (const b of settledBefore) expect(await isSettledOnChain(b.batch_id)).toBe(true);
  await eventually(async () => ((await db.query(`SELECT count(*)::int AS n FROM settlements WHERE batch_id = ANY($1) AND status IN ('CONFIRMED', 'FINALIZED')`, [settledBefore.map((b) => b.batch_id)]))[0].n === settledBefore.length ? true : undefined), 20_000, "the resent batches confirmed on the new chain");
});
