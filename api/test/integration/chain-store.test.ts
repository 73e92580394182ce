import { Wallet } from "ethers";
import type { DataSource } from "typeorm";
import { step, type FollowerSettings } from "../../../indexer";
import { FakeChain } from "../../../indexer/testing";
import { createDataSource } from "../../db/data-source";
import { PgChainStore } from "../../db/repositories/chain-store";
import { fileDatabaseUrl } from "../harness";
import { accountOf, insertCharge } from "../builders";

let db: DataSource;
const CHAIN = 7_000_000n + BigInt(process.pid % 1000);
const clients = [Wallet.createRandom().address, Wallet.createRandom().address].map((a) => a.toLowerCase());
const settings: FollowerSettings = { startBlock: 0n, span: 40n, confirmations: 5n, keepBlocks: 16 };

beforeAll(async () => {
  db = createDataSource(await fileDatabaseUrl(), 4);
  await db.initialize();
});
afterAll(() => db.destroy());

async function follow(chain: FakeChain, store: PgChainStore, maxSteps = 10_000): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    const r = await step(chain, store, settings);
    if (r.indexed === 0n && r.rewoundTo === undefined) return;
  }
}

async function snapshot() {
  const events = await db.query(`SELECT tx_hash, log_index, block_number, block_hash, name, args FROM chain_events WHERE chain_id = $1 ORDER BY block_number, log_index`, [CHAIN.toString()]);
  const balances = await db.query(
    `SELECT a.address, b.deposited_wei FROM escrow_balances b JOIN accounts a ON a.id = b.account_id WHERE a.address = ANY($1) ORDER BY a.address`,
    [clients],
  );
  const [cursor] = await db.query(`SELECT block_number, block_hash FROM chain_cursor WHERE chain_id = $1`, [CHAIN.toString()]);
  return { events, balances, cursor };
}

async function forget(): Promise<void> {
  for (const t of ["chain_events", "chain_blocks", "chain_cursor", "chain_accounts"]) await db.query(`DELETE FROM ${t} WHERE chain_id = $1`, [CHAIN.toString()]);
  await db.query(`UPDATE escrow_balances SET deposited_wei = 0 WHERE account_id IN (SELECT id FROM accounts WHERE address = ANY($1))`, [clients]);
}

function expectedDeposits(chain: FakeChain): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const b of chain.blocks) for (const e of b.events) sums.set(String(e.args.client), (sums.get(String(e.args.client)) ?? 0n) + BigInt(String(e.args.amount)));
  return sums;
}

it("mirrors deposits into escrow, survives a reorg as a fresh index would, and resumes a killed backfill without gap or duplicate", async () => {
  const chain = new FakeChain(400, 3, clients);
  // a backfill killed after a few steps, resumed by a new store instance (as after a restart)
  const first = new PgChainStore(db, CHAIN);
  for (let i = 0; i < 4; i++) await step(chain, first, settings);
  await follow(chain, new PgChainStore(db, CHAIN));
  let state = await snapshot();
  expect(state.events).toHaveLength(chain.blocks.reduce((n, b) => n + b.events.length, 0));
  for (const row of state.balances) expect(BigInt(row.deposited_wei)).toBe(expectedDeposits(chain).get(row.address));

  // a settlement batch settles in a block that the reorg will replace
  const escrow = "0x00000000000000000000000000000000000e5c70";
  const [{ batch_id }] = await db.query(
    `INSERT INTO settlements (chain_id, escrow, status, job_count, total_amount, fee_amount, merkle_root, payload)
     VALUES ($1, $2, 'SUBMITTED', 1, 1, 0, $3, '{}') RETURNING batch_id`,
    [CHAIN.toString(), escrow, `0x${"ab".repeat(32)}`],
  );
  chain.extend(2);
  chain.emit("BatchSettled", escrow, { batchId: String(batch_id), merkleRoot: `0x${"ab".repeat(32)}`, jobCount: "1", totalDebited: "1", totalCredited: "1" });
  await follow(chain, new PgChainStore(db, CHAIN));
  const settled = async () => (await db.query(`SELECT status FROM settlements WHERE batch_id = $1`, [batch_id]))[0].status;
  expect(await settled()).toBe("CONFIRMED");

  // blocks with deposits and the settlement are replaced by another fork
  chain.reorg(390, 25);
  await follow(chain, new PgChainStore(db, CHAIN));
  state = await snapshot();
  for (const row of state.balances) expect(BigInt(row.deposited_wei)).toBe(expectedDeposits(chain).get(row.address));
  expect(await settled()).toBe("SUBMITTED");

  await forget();
  await follow(chain, new PgChainStore(db, CHAIN));
  const fresh = await snapshot();
  expect(state).toEqual(fresh);
});

it("a rewind undoes what the chain held for a client: the last surviving hold (or 0) is what the chain holds, so it is sent again", async () => {
  const chain = new FakeChain(30, 3, clients);
  const store = new PgChainStore(db, CHAIN + 1n);
  const fresh = Wallet.createRandom().address.toLowerCase();
  const escrow = "0x00000000000000000000000000000000000e5c70";
  chain.extend(1);
  chain.emit("HoldsUpdated", escrow, { client: fresh, held: "500" });
  chain.extend(5);
  chain.emit("HoldsUpdated", escrow, { client: fresh, held: "900" });
  chain.extend(1);
  const s = { ...settings, span: 5n };
  for (let i = 0; i < 100; i++) if ((await step(chain, store, s)).indexed === 0n) break;
  const [{ id }] = await db.query(`INSERT INTO accounts (address) VALUES ($1) ON CONFLICT (address) DO UPDATE SET address = excluded.address RETURNING id`, [fresh]);
  await db.query(`INSERT INTO escrow_balances (account_id, chain_held_wei) VALUES ($1, 900) ON CONFLICT (account_id) DO UPDATE SET chain_held_wei = 900`, [id]);
  chain.reorg(33, 10);
  for (let i = 0; i < 100; i++) {
    const r = await step(chain, store, s);
    if (r.indexed === 0n && r.rewoundTo === undefined) break;
  }
  expect((await db.query(`SELECT chain_held_wei FROM escrow_balances WHERE account_id = $1`, [id]))[0].chain_held_wei).toBe("500");
});

it("mirrors a withdrawal request and a settlement debt from the events, moves the debt's charge out of its batch until it is paid, and a reorg undoes both", async () => {
  const client = Wallet.createRandom().address.toLowerCase();
  const provider = Wallet.createRandom().address.toLowerCase();
  const escrow = "0x00000000000000000000000000000000000e5c70";
  const chain = new FakeChain(10, 1000, [client]); // block 0: Deposited(client, 1000)
  const store = new PgChainStore(db, CHAIN + 2n);
  const s = { ...settings, span: 5n };
  const follow = async () => {
    for (let i = 0; i < 100; i++) {
      const r = await step(chain, store, s);
      if (r.indexed === 0n && r.rewoundTo === undefined) return;
    }
  };
  const clientId = await accountOf(db, client);
  const jobId = await insertCharge(db, client, provider, 300n);
  const [{ batch_id }] = await db.query(
    `INSERT INTO settlements (chain_id, escrow, status, job_count, total_amount, fee_amount, merkle_root, payload) VALUES ($1, $2, 'SUBMITTED', 1, 300, 0, $3, '{}') RETURNING batch_id`,
    [(CHAIN + 2n).toString(), escrow, `0x${"cd".repeat(32)}`],
  );
  await db.query(`UPDATE charges SET settlement_batch = $2 WHERE job_id = $1`, [jobId, batch_id]);
  const escrowRow = async () =>
    (await db.query(`SELECT deposited_wei, withdrawing_wei, extract(epoch FROM withdraw_unlock_at)::int AS unlock, debt_wei FROM escrow_balances WHERE account_id = $1`, [clientId]))[0];
  const charge = async () => (await db.query(`SELECT settlement_batch, debt_batch, debt_id FROM charges WHERE job_id = $1`, [jobId]))[0];
  const status = async () => (await db.query(`SELECT status FROM settlements WHERE batch_id = $1`, [batch_id]))[0].status;

  chain.extend(1, 1000);
  chain.emit("WithdrawRequested", escrow, { client, amount: "400", unlockAt: "5000" });
  chain.extend(1, 1000);
  chain.emit("BatchSettled", escrow, { batchId: String(batch_id), merkleRoot: `0x${"cd".repeat(32)}`, jobCount: "1", totalDebited: "0", totalCredited: "0" });
  chain.emit("DebtRecorded", escrow, { debtId: "1", batchId: String(batch_id), client, amount: "300", newDebt: "300", providers: [provider], credits: ["300"] });
  await follow();
  expect(await escrowRow()).toEqual({ deposited_wei: "1000", withdrawing_wei: "400", unlock: 5000, debt_wei: "300" });
  expect(await status()).toBe("CONFIRMED");
  expect(await charge()).toEqual({ settlement_batch: null, debt_batch: batch_id, debt_id: "1" });

  // the client withdraws and the debt is paid: the charge is back in its batch, remembered as a paid debt
  chain.extend(1, 1000);
  chain.emit("Withdrawn", escrow, { client, amount: "400", newBalance: "600" });
  chain.emit("DebtPaid", escrow, { debtId: "1", batchId: String(batch_id), client, amount: "300", newBalance: "300", newDebt: "0" });
  await follow();
  expect(await escrowRow()).toEqual({ deposited_wei: "600", withdrawing_wei: "0", unlock: null, debt_wei: "0" });
  expect(await charge()).toEqual({ settlement_batch: batch_id, debt_batch: null, debt_id: "1" });

  // a reorg takes the withdrawal and the payment away: the request and the debt are back
  chain.reorg(12, 3);
  await follow();
  expect(await escrowRow()).toMatchObject({ withdrawing_wei: "400", unlock: 5000, debt_wei: "300" });
  expect(await charge()).toEqual({ settlement_batch: null, debt_batch: batch_id, debt_id: "1" });

  // a deeper one takes the settlement and the request away too: the charge is in its (unsettled) batch, no debt
  chain.reorg(10, 5);
  await follow();
  expect(await escrowRow()).toMatchObject({ withdrawing_wei: "0", unlock: null, debt_wei: "0" });
  expect(await charge()).toEqual({ settlement_batch: batch_id, debt_batch: null, debt_id: null });
  expect(await status()).toBe("SUBMITTED");
});
