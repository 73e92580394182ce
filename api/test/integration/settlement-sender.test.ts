import type { DataSource } from "typeorm";
import { Wallet } from "ethers";
import { createDataSource } from "../../db/data-source";
import { holdsToSync } from "../../queues/settlement.runner";
import { SettlementService, type SettlementWriter } from "../../services/settlement.service";
import { workerDatabaseUrl } from "../harness";

let db: DataSource;
const CHAIN = 9_000_000n + BigInt(process.pid % 1000);
const ESCROW = Wallet.createRandom().address.toLowerCase();

beforeAll(async () => {
  db = createDataSource(await workerDatabaseUrl(), 4);
  await db.initialize();
});
afterAll(() => db.destroy());

/** A chain that settles each batch id once and can fail after sending (the sender dies before recording). */
class FakeEscrow implements SettlementWriter {
  settled = new Map<bigint, number>();
  sends = 0;
  failAfterSend = false;
  failBeforeSend = false;
  async isSettled(batchId: bigint) {
    return this.settled.has(batchId);
  }
  async settle(b: { batchId: bigint; jobCount: number }) {
    if (this.failBeforeSend) throw new Error("connection reset by peer");
    this.sends++;
    if (this.settled.has(b.batchId)) throw new Error(`execution reverted: BatchAlreadySettled(${b.batchId})`);
    this.settled.set(b.batchId, b.jobCount);
    if (this.failAfterSend) throw new Error("socket hang up");
    return { txHash: `0x${"1".repeat(64)}`, blockNumber: 7n, gasUsed: 100_000n };
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
  expect(batches.length).toBeGreaterThanOrEqual(3); // other tests' charges in this database may join

  chain.failBeforeSend = true;
  await expect(service.submit(chain)).rejects.toThrow(/connection reset/);
  expect(chain.settled.size).toBe(0);

  // every send goes through but its answer is lost: the sender asks the chain and moves on without resending
  chain.failBeforeSend = false;
  chain.failAfterSend = true;
  await service.submit(chain);
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
      [CHAIN.toString(), ESCROW, status, jobIds.length, `0x${"0".repeat(64)}`],
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
