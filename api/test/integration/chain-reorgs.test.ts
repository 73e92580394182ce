import { Wallet } from "ethers";
import type { DataSource } from "typeorm";
import { step, type BlockRef, type ChainEvent, type FollowerSettings } from "../../../indexer";
import { FakeChain } from "../../../indexer/testing";
import { createDataSource } from "../../db/data-source";
import { PgChainStore } from "../../db/repositories/chain-store";
import { fileDatabaseUrl } from "../harness";

/**
 * The property behind the incremental indexer: after any sequence of reorgs, what it mirrors (chain_accounts,
 * escrow_balances, stakes) equals a fresh index of the canonical chain, and the sums the events add up to.
 */
let db: DataSource;
const CHAIN = 7_100_000n + BigInt(process.pid % 1000) * 10n;
const ESCROW = "0x00000000000000000000000000000000000e5c70";
const STAKING = "0x000000000000000000000000000000000057a6e0";
const settings: FollowerSettings = { startBlock: 0n, span: 16n, confirmations: 3n, keepBlocks: 16 };

beforeAll(async () => {
  db = createDataSource(await fileDatabaseUrl(), 4);
  await db.initialize();
});
afterAll(() => db.destroy());

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0-3 random events a block, of every kind the indexer mirrors (and one it does not). */
function mixOf(rand: () => number, clients: string[], providers: string[]) {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const amount = () => String(1 + Math.floor(rand() * 1000));
  const big = "1000000000";
  // block 0 (never reorged here) funds everyone, so that no later withdrawal, payment or slash goes below zero
  const genesis = (): Pick<ChainEvent, "address" | "name" | "args">[] => [
    ...clients.flatMap((client): Pick<ChainEvent, "address" | "name" | "args">[] => [
      { address: ESCROW, name: "Deposited", args: { client, amount: big, newBalance: big } },
      { address: ESCROW, name: "DebtRecorded", args: { debtId: "0", batchId: "1", client, amount: big, newDebt: big, providers: [], credits: [] } },
    ]),
    ...providers.map((provider) => ({ address: STAKING, name: "Staked", args: { provider, amount: big, newStaked: big } })),
  ];
  return (block: BlockRef): Pick<ChainEvent, "address" | "name" | "args">[] =>
    block.number === 0n ? genesis() : Array.from({ length: Math.floor(rand() * 4) }, () => {
      const client = pick(clients);
      const provider = pick(providers);
      const kinds: Pick<ChainEvent, "address" | "name" | "args">[] = [
        { address: ESCROW, name: "Deposited", args: { client, amount: amount(), newBalance: "0" } },
        { address: ESCROW, name: "Withdrawn", args: { client, amount: amount(), newBalance: "0" } },
        { address: ESCROW, name: "WithdrawRequested", args: { client, amount: rand() < 0.2 ? "0" : amount(), unlockAt: String(1_800_000_000 + Math.floor(rand() * 1000)) } },
        { address: ESCROW, name: "DebtRecorded", args: { debtId: amount(), batchId: "1", client, amount: amount(), newDebt: "0", providers: [provider], credits: ["1"] } },
        { address: ESCROW, name: "DebtPaid", args: { debtId: amount(), batchId: "1", client, amount: amount(), newBalance: "0", newDebt: "0" } },
        { address: ESCROW, name: "HoldsUpdated", args: { client, held: amount() } },
        { address: ESCROW, name: "Debited", args: { batchId: "1", client, amount: amount(), newBalance: "0", newHeld: amount() } },
        { address: ESCROW, name: "Credited", args: { batchId: "1", account: provider, amount: amount(), newClaimable: "0" } },
        { address: STAKING, name: "Staked", args: { provider, amount: amount(), newStaked: "0" } },
        { address: STAKING, name: "UnstakeRequested", args: { provider, amount: amount(), unlockAt: String(1_800_000_000 + Math.floor(rand() * 1000)) } },
        { address: STAKING, name: "Withdrawn", args: { provider, amount: amount() } },
        { address: STAKING, name: "Slashed", args: { provider, amount: amount(), reason: `0x${"00".repeat(32)}` } },
      ];
      return pick(kinds);
    });
}

async function follow(chain: FakeChain, store: PgChainStore): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const r = await step(chain, store, settings);
    if (r.indexed === 0n && r.rewoundTo === undefined) return;
  }
  throw new Error("did not catch up");
}

/** What the store mirrors for `addresses` on `chain` (all-zero state rows left out: a fresh index has none). */
async function mirrored(chain: bigint, addresses: string[]) {
  const ledger = await db.query(
    `SELECT address, deposited, withdrawing, withdraw_unlock_at, debt, held, staked, unbonding, slashed, stake_unlock_at FROM chain_accounts
      WHERE chain_id = $1 AND (deposited <> 0 OR withdrawing <> 0 OR withdraw_unlock_at IS NOT NULL OR debt <> 0 OR held <> 0 OR staked <> 0 OR unbonding <> 0 OR slashed <> 0 OR stake_unlock_at IS NOT NULL)
      ORDER BY address`,
    [chain.toString()],
  );
  const escrow = await db.query(
    `SELECT a.address, b.deposited_wei, b.withdrawing_wei, extract(epoch FROM b.withdraw_unlock_at)::bigint::text AS unlock, b.debt_wei FROM escrow_balances b JOIN accounts a ON a.id = b.account_id WHERE a.address = ANY($1) ORDER BY a.address`,
    [addresses],
  );
  const stakes = await db.query(
    `SELECT a.address, s.staked_wei, s.unbonding_wei, s.slashed_wei, extract(epoch FROM s.unlock_at)::bigint::text AS unlock FROM stakes s JOIN accounts a ON a.id = s.account_id WHERE a.address = ANY($1) ORDER BY a.address`,
    [addresses],
  );
  return { ledger, escrow, stakes };
}

/** The sums the canonical events add up to, computed here from the events (not by the indexer's ledger). */
function expectedSums(chain: FakeChain, clients: string[]) {
  const events = chain.blocks.flatMap((b) => b.events);
  return [...clients].sort().map((client) => {
    const mine = events.filter((e) => e.args.client === client);
    const sum = (name: string) => mine.filter((e) => e.name === name).reduce((s, e) => s + BigInt(String(e.args.amount)), 0n);
    const lastRequest = [...mine].reverse().find((e) => e.name === "WithdrawRequested" || e.name === "Withdrawn");
    return {
      address: client,
      deposited_wei: String(sum("Deposited") - sum("Withdrawn")),
      withdrawing_wei: lastRequest?.name === "WithdrawRequested" ? String(lastRequest.args.amount) : "0",
      debt_wei: String(sum("DebtRecorded") - sum("DebtPaid")),
    };
  });
}

it.each([1, 2, 3, 4])("random reorgs (seed %i) end where a fresh index of the canonical chain does", async (seed) => {
  const rand = prng(seed);
  const clients = Array.from({ length: 4 }, () => Wallet.createRandom().address.toLowerCase());
  const providers = Array.from({ length: 3 }, () => Wallet.createRandom().address.toLowerCase());
  const everyone = [...clients, ...providers];
  const id = CHAIN + BigInt(seed) * 2n;
  const chain = new FakeChain(60, 1, clients, mixOf(rand, clients, providers));
  const store = new PgChainStore(db, id);
  await follow(chain, store);
  for (let r = 0; r < 6; r++) {
    const length = chain.blocks.length;
    chain.reorg(length - 1 - Math.floor(rand() * 20), 1 + Math.floor(rand() * 25));
    if (rand() < 0.5) await step(chain, store, settings); // sometimes a second reorg lands before the indexer caught up
    if (rand() < 0.3) chain.reorg(chain.blocks.length - 1 - Math.floor(rand() * 5), 1 + Math.floor(rand() * 5));
    await follow(chain, store);
    const after = await mirrored(id, everyone);
    expect(after.escrow.map((row: Record<string, string>) => ({ address: row.address, deposited_wei: row.deposited_wei, withdrawing_wei: row.withdrawing_wei, debt_wei: row.debt_wei }))).toEqual(
      expectedSums(chain, clients).filter((c) => after.escrow.some((row: { address: string }) => row.address === c.address)),
    );
  }
  const incremental = await mirrored(id, everyone);
  // the same canonical chain indexed from scratch (another chain id, then the mirrors are rewritten by it)
  const fresh = new PgChainStore(db, id + 1n);
  await follow(chain, fresh);
  const scratch = await mirrored(id + 1n, everyone);
  expect(incremental.ledger).toEqual(scratch.ledger);
  expect(incremental.escrow).toEqual(scratch.escrow);
  expect(incremental.stakes).toEqual(scratch.stakes);
});
