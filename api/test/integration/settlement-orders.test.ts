import type { DataSource } from "typeorm";
import { Wallet, ZeroHash, id } from "ethers";
import { createDataSource } from "../../db/data-source";
import { SettlementService } from "../../services/settlement.service";
import { insertCharge } from "../builders";
import { fileDatabaseUrl } from "../harness";

/**
 * How batches take the charges of jobs with a signed order: whole (every charge of the job in one batch, since the
 * batch marks the order's nonce and a second batch could not), only once the job has ended, with the order's nonce
 * marked and its digest in each leaf; charges without an order take the allowance only on a windowed escrow.
 */
let db: DataSource;
const CHAIN = 8_000_000n + BigInt(process.pid % 1000);
const ESCROW = Wallet.createRandom().address.toLowerCase();

beforeAll(async () => {
  db = createDataSource(await fileDatabaseUrl(), 4);
  await db.initialize();
});
afterAll(() => db.destroy());

const service = (batchSize: number, windowed = false) =>
  new SettlementService(db, { chainId: CHAIN, escrow: ESCROW, batchSize, maxAgeMs: 0, feeBps: 0, windowed: async () => windowed });

/** A job with a signed order (nonce `nonce`) and `charges` charges of 10 wei each (one per run), in state `status`. */
async function orderedJob(client: string, provider: string, nonce: bigint, charges: number, status: string): Promise<string> {
  const jobId = await insertCharge(db, client, provider, 10n);
  const [a] = await db.query(`SELECT * FROM assignments WHERE job_id = $1`, [jobId]);
  for (let i = 1; i < charges; i++) {
    const [b] = await db.query(
      `INSERT INTO assignments (job_id, offer_id, node_id, provider_id, replica, attempt, gpus, price_wei, status, result_hash) VALUES ($1, $2, $3, $4, 0, $5, 1, 1, 'COMPLETED', repeat('b', 64)) RETURNING id`,
      [jobId, a.offer_id, a.node_id, a.provider_id, i + 1],
    );
    await db.query(`INSERT INTO charges (job_id, assignment_id, client_id, provider_id, amount_wei, run_seconds) SELECT $1, $2, client_id, provider_id, 10, 10 FROM charges WHERE job_id = $1 LIMIT 1`, [jobId, b.id]);
  }
  await db.query(`UPDATE jobs SET status = $2 WHERE id = $1`, [jobId, status]);
  const [job] = await db.query(`SELECT client_id FROM jobs WHERE id = $1`, [jobId]);
  await db.query(
    `INSERT INTO job_orders (job_id, client_id, chain_id, escrow, nonce, max_cost_wei, market, expiry, signature, digest) VALUES ($1, $2, $3, $4, $5, 100, $6, 9999999999, '0x', $7)`,
    [jobId, job.client_id, CHAIN.toString(), ESCROW, nonce.toString(), ZeroHash, id(`order-${jobId}`)],
  );
  return jobId;
}

async function batchOf(batchId: bigint) {
  const [row] = await db.query(`SELECT payload FROM settlements WHERE batch_id = $1`, [batchId.toString()]);
  const jobs: { job_id: string }[] = await db.query(`SELECT job_id FROM charges WHERE settlement_batch = $1`, [batchId.toString()]);
  return { payload: row.payload, jobs: jobs.map((j) => j.job_id) };
}

test("a signed order's charges wait for its job to end, then go into one batch with its nonce marked", async () => {
  const [client, provider] = [Wallet.createRandom().address, Wallet.createRandom().address];
  const running = await orderedJob(client, provider, 5n, 2, "RUNNING");
  const plain = await insertCharge(db, client, provider, 7n);
  const s = service(100);
  const first = (await s.gather())!;
  expect((await batchOf(first)).jobs).toEqual([plain]);
  expect((await batchOf(first)).payload.nonceMarks).toEqual([]);
  // nothing else is due while the job runs
  expect(await s.gather()).toBeUndefined();

  await db.query(`UPDATE jobs SET status = 'COMPLETED' WHERE id = $1`, [running]);
  const second = (await s.gather())!;
  const { payload, jobs } = await batchOf(second);
  expect(jobs).toEqual([running, running]);
  expect(payload.debits).toEqual(["20"]);
  // one client entry (index 0), nonce 5 in word 0
  expect(payload.nonceMarks).toEqual(["0", String(1n << 5n)]);
  expect(payload.allowanceBits).toEqual([]);
});

test("a batch's limit never splits an order's charges: a job the limit cut brings the rest of its charges", async () => {
  const [client, provider] = [Wallet.createRandom().address, Wallet.createRandom().address];
  const plain = await insertCharge(db, client, provider, 7n);
  const ordered = await orderedJob(client, provider, 9n, 3, "COMPLETED");
  const after = await insertCharge(db, client, provider, 8n);
  const s = service(2);
  const first = (await s.gather())!;
  expect((await batchOf(first)).jobs.sort()).toEqual([plain, ordered, ordered, ordered].sort());
  const second = (await s.gather())!;
  expect((await batchOf(second)).jobs).toEqual([after]);
});

test("on a windowed escrow a charge without an order is debited from the allowance; with an order it is not", async () => {
  const [client, provider] = [Wallet.createRandom().address, Wallet.createRandom().address];
  await insertCharge(db, client, provider, 7n);
  await orderedJob(client, provider, 0n, 1, "COMPLETED");
  const batch = (await service(100, true).gather())!;
  const { payload } = await batchOf(batch);
  // two entries of one client: the allowance entry first (bit 0), then the orders entry (index 1) marking nonce 0
  expect(payload.clients).toHaveLength(2);
  expect(payload.debits).toEqual(["7", "10"]);
  expect(payload.allowanceBits).toEqual(["1"]);
  expect(payload.nonceMarks).toEqual([String(1n << 240n), "1"]);
});
