import type { DataSource } from "typeorm";
import { Wallet } from "ethers";
import { createDataSource } from "../../db/data-source";
import { holdsToSync } from "../../chain/settlement.runner";
import { SettlementService, type SettlementWriter } from "../../services/settlement.service";
import { SettlementRetry, type SettleCall } from "../../services/settlement-sender";
import { fileDatabaseUrl } from "../harness";

let db: DataSource;
const CHAIN = 9_000_000n + BigInt(process.pid % 1000);
const ESCROW = Wallet.createRandom().address.toLowerCase();

beforeAll(async () => {
  db = createDataSource(await fileDatabaseUrl(), 4);
  await db.initialize();
});
afterAll(() => db.destroy());

/**
 * A chain that settles each batch id once. It can fail before sending, lose the answer after sending (the sender
 * dies before recording), refuse the settler for want of gas money, refuse a client's debit, and drop transactions.
 */
class FakeEscrow implements SettlementWriter {
  settled = new Map<bigint, number>();
  sends = 0;
  failAfterSend = false;
  failBeforeSend = false;
  noGasMoney = false;
  dropping = false;
  /** Clients whose debits the contract refuses (InsufficientBalance). */
  broke = new Set<string>();
  private txs = new Map<string, { call: SettleCall; mined: boolean; dropped?: boolean }>();
  async isSettled(batchId: bigint) {
    return this.settled.has(batchId);
  }
  async sign(call: SettleCall) {
    if (this.failBeforeSend) throw new Error("connection reset by peer");
    const bad = call.clients.find((c) => this.broke.has(c.toLowerCase()));
    if (bad) throw new Error(`execution reverted: InsufficientBalance(${bad}, 0, 1)`);
    const txHash = `0x${(this.txs.size + 1).toString(16).padStart(64, "0")}`;
    this.txs.set(txHash, { call, mined: false });
    return { txHash, raw: txHash };
  }
  async broadcast(raw: string) {
    if (this.noGasMoney) throw new Error("insufficient funds for gas * price + value: have 0 want 21000");
    const tx = this.txs.get(raw)!;
    this.sends++;
    if (this.dropping) {
      tx.dropped = true;
      return;
    }
    if (this.settled.has(tx.call.batchId)) throw new Error(`execution reverted: BatchAlreadySettled(${tx.call.batchId})`);
    this.settled.set(tx.call.batchId, tx.call.jobCount);
    tx.mined = true;
    if (this.failAfterSend) throw new Error("socket hang up");
  }
  async receipt(txHash: string) {
    return this.txs.get(txHash)?.mined ? { ok: true, blockNumber: 7n, gasUsed: 100_000n } : null;
  }
  async lookup(txHash: string) {
    const tx = this.txs.get(txHash);
    return !tx || tx.dropped ? ("unknown" as const) : ("pending" as const);
  }
  async nonceUsed() {
    return false;
  }
}

async function seedCharges(n: number): Promise<string[]> {
  const [client] = await db.query(`INSERT INTO accounts (address) VALUES ($1) RETURNING id`, [Wallet.createRandom().address.toLowerCase()]);
  const [provider] = await db.query(`INSERT INTO accounts (address) VALUES ($1) RETURNING id`, [Wallet.createRandom().address.toLowerCase()]);
  const [market] = await db.query(`INSERT INTO markets (id, gpu_model, vram_gb) VALUES ($1, 'SETTLE', 80) ON CONFLICT DO NOTHING RETURNING id`, [`SETTLE${process.pid}-80GB`]);
  const marketId = market?.id ?? `SETTLE${process.pid}-80GB`;
  const [node] = await db.query(`INSERT INTO nodes (provider_id, name, region, gpus) VALUES ($1, $2, 'eu-central', '[]') RETURNING id`, [provider.id, `n-${Date.now()}-${Math.random()}`]);
  const [offer] = await db.query(
    `INSERT INTO offers (node_id, provider_id, market, gpu_model, vram_gb, region, price_wei, gpu_count, available_gpus) VALUES ($1, $2, $3, 'SETTLE', 80, 'eu-central', 1, 8, 8) RETURNING id`,
    [node.id, provider.id, marketId],
  );
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const [job] = await db.query(
      `INSERT INTO jobs (client_id, kind, gpu_count, min_vram_gb, max_price_wei, max_duration_seconds, redundancy, strategy, request_hash, hold_wei, status)
       VALUES ($1, 'OTHER', 1, 80, 1, 60, 1, 'BALANCED', repeat('0', 64), 0, 'COMPLETED') RETURNING id`,
      [client.id],
    );
    const [a] = await db.query(
      `INSERT INTO assignments (job_id, offer_id, node_id, provider_id, replica, attempt, gpus, price_wei, status, result_hash) VALUES ($1, $2, $3, $4, 0, 1, 1, 1, 'COMPLETED', repeat('a', 64)) RETURNING id`,
      [job.id, offer.id, node.id, provider.id],
    );
    await db.query(`INSERT INTO charges (job_id, assignment_id, client_id, provider_id, amount_wei, run_seconds) VALUES ($1, $2, $3, $4, 1000, 10)`, [job.id, a.id, client.id, provider.id]);
    ids.push(job.id);
  }
  return ids;
}

it("never settles a batch twice or loses a charge through RPC errors and a sender that dies between sending and recording", async () => {
  const jobs = await seedCharges(25);
  const service = new SettlementService(db, { chainId: CHAIN, escrow: ESCROW, batchSize: 10, maxAgeMs: 0, feeBps: 100 });
  const chain = new FakeEscrow();
  const batches: bigint[] = [];
  for (let b = await service.gather(); b !== undefined; b = await service.gather()) batches.push(b);
  // this file's database holds these 25 charges only: batches of 10, 10 and 5, each charge in exactly one
  expect(batches).toHaveLength(3);
  const sizes = await db.query(`SELECT settlement_batch AS batch, count(*)::int AS n, array_agg(job_id::text) AS jobs FROM charges GROUP BY settlement_batch ORDER BY settlement_batch`);
  expect(sizes.map((r: { batch: string; n: number }) => [r.batch, r.n])).toEqual(batches.map((b, i) => [String(b), [10, 10, 5][i]]));
  expect(sizes.flatMap((r: { jobs: string[] }) => r.jobs).sort()).toEqual([...jobs].sort());

  chain.failBeforeSend = true;
  await expect(service.submit(chain)).rejects.toThrow(/connection reset/);
  await expect(service.submit(chain)).rejects.toBeInstanceOf(SettlementRetry);
  expect(chain.settled.size).toBe(0);

  // every send goes through but its answer is lost: the hash was recorded first, so the sender backs off, then finds
  // the receipt and moves on to the next batch, never resending
  chain.failBeforeSend = false;
  chain.failAfterSend = true;
  for (let i = 0; i < batches.length; i++) await expect(service.submit(chain)).rejects.toBeInstanceOf(SettlementRetry);
  expect(chain.settled.size).toBe(batches.length);
  expect(chain.sends).toBe(batches.length);

  // a restarted sender: asks the chain first, so no batch is sent again
  chain.failAfterSend = false;
  const restarted = new SettlementService(db, { chainId: CHAIN, escrow: ESCROW, batchSize: 10, maxAgeMs: 0, feeBps: 100 });
  await restarted.submit(chain);
  expect(chain.settled.size).toBe(batches.length);
  expect(chain.sends).toBe(batches.length);
  const inBatches = await db.query(`SELECT count(*)::int AS n FROM charges WHERE settlement_batch = ANY($1)`, [batches.map(String)]);
  expect([...chain.settled.values()].reduce((a, b) => a + b, 0)).toBe(inBatches[0].n);
  const unbatched = await db.query(`SELECT count(*)::int AS n FROM charges WHERE job_id = ANY($1) AND settlement_batch IS NULL`, [jobs]);
  expect(unbatched[0].n).toBe(0);
  const statuses = await db.query(`SELECT status FROM settlements WHERE batch_id = ANY($1)`, [batches.map(String)]);
  expect(statuses.every((r: { status: string }) => r.status === "SUBMITTED")).toBe(true);
});

it("holdsToSync: an account must keep on chain its holds and its charges not settled on chain, and is listed only while that differs from what was sent", async () => {
  const jobs = await seedCharges(3); // three charges of 1,000 wei for one client
  const [{ client_id: client }] = await db.query(`SELECT client_id FROM charges WHERE job_id = $1`, [jobs[0]]);
  await db.query(`INSERT INTO escrow_balances (account_id, deposited_wei, held_wei) VALUES ($1, 100000, 500)`, [client]);
  const desired = async () => (await holdsToSync(db)).find((r) => r.account_id === client)?.desired;
  expect(await desired()).toBe("3500");

  const batch = async (status: string, jobIds: string[]) => {
    const [s] = await db.query(
      `INSERT INTO settlements (chain_id, escrow, status, job_count, total_amount, fee_amount, merkle_root, payload) VALUES ($1, $2, $3, $4, 0, 0, $5, '{}') RETURNING batch_id`,
      [CHAIN.toString(), Wallet.createRandom().address.toLowerCase(), status, jobIds.length, `0x${"0".repeat(64)}`],
    );
    await db.query(`UPDATE charges SET settlement_batch = $1 WHERE job_id = ANY($2)`, [s.batch_id, jobIds]);
    return s.batch_id as string;
  };
  await batch("SUBMITTED", [jobs[0]]); // sent, not yet confirmed: still held on chain
  expect(await desired()).toBe("3500");
  const confirmed = await batch("CONFIRMED", [jobs[1]]); // settled on chain: the escrow already paid it
  expect(await desired()).toBe("2500");

  await db.query(`UPDATE escrow_balances SET chain_held_wei = 2500 WHERE account_id = $1`, [client]);
  expect(await desired()).toBeUndefined(); // nothing to send
  await db.query(`UPDATE settlements SET status = 'SUBMITTED' WHERE batch_id = $1`, [confirmed]); // a reorg undid it
  expect(await desired()).toBe("3500");
});

const batchOf = async (jobId: string) => (await db.query(`SELECT s.batch_id, s.status, s.error, s.payload FROM charges c JOIN settlements s ON s.batch_id = c.settlement_batch WHERE c.job_id = $1`, [jobId]))[0];
const clientOf = async (jobId: string) => (await db.query(`SELECT a.address FROM jobs j JOIN accounts a ON a.id = j.client_id WHERE j.id = $1`, [jobId]))[0].address as string;

async function drain(service: SettlementService, chain: SettlementWriter, now: Date) {
  while ((await service.gather(now)) !== undefined);
  for (let i = 0; i < 20; i++) {
    const r = await service.submit(chain, now);
    if (r.sent === 0 && r.refused.length === 0 && r.resent.length === 0) return;
  }
  throw new Error("the sender did not settle down");
}

it("retries a settler out of gas money with the batch kept PENDING and its reason recorded, and settles it once funded", async () => {
  const [job] = await seedCharges(1);
  const chain = new FakeEscrow();
  const service = new SettlementService(db, { chainId: CHAIN, escrow: Wallet.createRandom().address, batchSize: 10, maxAgeMs: 0, feeBps: 0 });
  chain.noGasMoney = true;
  for (let i = 0; i < 3; i++) {
    await service.gather();
    await expect(service.submit(chain)).rejects.toMatchObject({ failure: { retryable: true } });
  }
  expect(await batchOf(job)).toMatchObject({ status: "PENDING", error: expect.stringMatching(/insufficient funds/) });
  chain.noGasMoney = false;
  await drain(service, chain, new Date());
  const batch = await batchOf(job);
  expect(batch).toMatchObject({ status: "SUBMITTED", error: null });
  expect(chain.settled.has(BigInt(batch.batch_id))).toBe(true);
});

it("fails a batch the chain refuses with its reason, re-batches its charges so the others settle, and retries the refused one with backoff until it settles", async () => {
  const good = await seedCharges(5);
  const [bad] = await seedCharges(1);
  const chain = new FakeEscrow();
  chain.broke.add(await clientOf(bad));
  const service = new SettlementService(db, { chainId: CHAIN, escrow: Wallet.createRandom().address, batchSize: 10, maxAgeMs: 0, feeBps: 0, retryBaseMs: 30_000 });
  const t0 = new Date();
  await drain(service, chain, t0);
  for (const job of good) expect((await batchOf(job)).status).toBe("SUBMITTED");
  const waiting = await batchOf(bad);
  expect(waiting).toMatchObject({ status: "PENDING", payload: { jobCount: 1, retry: { attempt: 1, reason: expect.stringMatching(/InsufficientBalance/) } } });
  expect(new Date(waiting.payload.notBefore).getTime()).toBe(t0.getTime() + 30_000);
  const failed = await db.query(`SELECT error FROM settlements WHERE status = 'FAILED' AND chain_id = $1 AND payload->'clients' ? $2`, [CHAIN.toString(), waiting.payload.clients[0]]);
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.every((f: { error: string }) => /InsufficientBalance/.test(f.error))).toBe(true);

  // refused again after its wait: the next wait doubles
  await drain(service, chain, new Date(t0.getTime() + 30_000));
  const again = await batchOf(bad);
  expect(again.payload.retry.attempt).toBe(2);
  expect(new Date(again.payload.notBefore).getTime()).toBe(t0.getTime() + 90_000);

  // the client can pay now: not before its time, then settled
  chain.broke.clear();
  await drain(service, chain, new Date(t0.getTime() + 89_000));
  expect((await batchOf(bad)).status).toBe("PENDING");
  await drain(service, chain, new Date(t0.getTime() + 90_000));
  const settled = await batchOf(bad);
  expect(settled.status).toBe("SUBMITTED");
  expect(chain.settled.has(BigInt(settled.batch_id))).toBe(true);
  const unsettledCharges = await db.query(`SELECT count(*)::int AS n FROM charges c JOIN settlements s ON s.batch_id = c.settlement_batch WHERE c.job_id = ANY($1) AND s.status <> 'SUBMITTED'`, [[...good, bad]]);
  expect(unsettledCharges[0].n).toBe(0);
});

it("sends a batch again under the same id when its transaction was dropped (unknown to the node after a while)", async () => {
  const [job] = await seedCharges(1);
  const chain = new FakeEscrow();
  const service = new SettlementService(db, { chainId: CHAIN, escrow: Wallet.createRandom().address, batchSize: 10, maxAgeMs: 0, feeBps: 0, dropAfterMs: 60_000, receiptWaitMs: 0 });
  const t0 = new Date();
  chain.dropping = true;
  await drain(service, chain, t0);
  const sent = await batchOf(job);
  expect(sent.status).toBe("SUBMITTED");
  expect(chain.settled.size).toBe(0);
  chain.dropping = false;
  expect((await service.submit(chain, new Date(t0.getTime() + 59_000))).resent).toEqual([]);
  const r = await service.submit(chain, new Date(t0.getTime() + 60_000));
  expect(r.resent.map((x) => x.batchId)).toEqual([BigInt(sent.batch_id)]);
  expect(await batchOf(job)).toMatchObject({ batch_id: sent.batch_id, status: "SUBMITTED" });
  expect(chain.settled.has(BigInt(sent.batch_id))).toBe(true);
});

it("re-batches a FAILED batch stranded with its charges (automatically, or by an operator), sends a backed-off one now on request, and refuses the rest", async () => {
  const service = new SettlementService(db, { chainId: CHAIN, escrow: Wallet.createRandom().address, batchSize: 10, maxAgeMs: 0, feeBps: 0 });
  const chain = new FakeEscrow();
  const [a] = await seedCharges(1);
  const stranded = (await service.gather())!;
  await db.query(`UPDATE settlements SET status = 'FAILED', error = 'insufficient funds for gas' WHERE batch_id = $1`, [stranded.toString()]);
  const byHand = await service.rebatch(stranded.toString());
  expect(byHand).toMatchObject({ batchId: stranded, action: "rebatched" });
  expect(BigInt((await batchOf(a)).batch_id)).toBe(byHand.into[0]);
  await expect(service.rebatch(stranded.toString())).rejects.toMatchObject({ code: "CONFLICT" });

  const [b] = await seedCharges(1);
  const legacy = (await service.gather())!;
  await db.query(`UPDATE settlements SET status = 'FAILED', error = 'execution reverted' WHERE batch_id = $1`, [legacy.toString()]);
  const r = await service.submit(chain);
  expect(r.refused.find((x) => x.batchId === legacy)).toBeDefined();
  expect((await batchOf(b)).status).toBe("SUBMITTED");

  const [c] = await seedCharges(1);
  const later = (await service.gather())!;
  await db.query(`UPDATE settlements SET payload = payload || jsonb_build_object('notBefore', $2::text) WHERE batch_id = $1`, [later.toString(), new Date(Date.now() + 3_600_000).toISOString()]);
  await service.submit(chain);
  expect((await batchOf(c)).status).toBe("PENDING");
  expect(await service.rebatch(later.toString())).toMatchObject({ action: "retry-now", into: [] });
  await service.submit(chain);
  expect((await batchOf(c)).status).toBe("SUBMITTED");
  await expect(service.rebatch(later.toString())).rejects.toMatchObject({ code: "CONFLICT" });
  await expect(service.rebatch("x1")).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
  await expect(service.rebatch("999999999")).rejects.toMatchObject({ code: "NOT_FOUND" });
});
