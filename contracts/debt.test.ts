import { id } from "ethers";
import { batchTuple, depositFrom, eventsOf, mined, revertOf, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

/**
 * A client whose balance cannot cover its debit never fails the batch: its line becomes a debt that keeps the
 * credits its lines name (the providers it owes wait for it), every other line settles, and anyone settles the debt
 * with payDebt once the client's free balance covers it.
 */
let f: ContractsFixture;
let escrowAddress: string;

beforeAll(async () => {
  f = await startContractsFixture();
  escrowAddress = f.deployment.escrow;
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.reset();
});

const addr = (i: number) => f.signer(i).address;

const deposit = (i: number, amount: bigint) => depositFrom(f, i, amount);

async function owedTotal(): Promise<bigint> {
  const escrow = f.escrow();
  let total = 0n;
  for (let i = 0; i < 12; i++) total += (await escrow.balanceOf(addr(i))) + (await escrow.claimableOf(addr(i)));
  return total;
}

/** Client 1 pays p1 200 and p2 70 (fee 30); client 2, with 10 on deposit, owes p2 90 (fee 10). */
const [P1, P2] = [10, 11];
const mixedBatch = (batchId: bigint) =>
  batchTuple(batchId, id(`batch-${batchId}`), 3, [addr(1), addr(2)], [300n, 100n], [addr(P1), addr(P2)], [200n, 160n], [
    [0, 0, 200n],
    [0, 1, 70n],
    [1, 1, 90n],
  ]);

test("a short client's line becomes a debt; the other client's line settles and its providers are paid", async () => {
  await deposit(1, 1000n);
  await deposit(2, 10n);
  await mined(f.escrow(0).setHolds([addr(2)], [10n]));
  const events = await eventsOf(f.escrow(0).settle(mixedBatch(7n)), f.escrow());
  expect(events).toEqual([
    { name: "Debited", args: [7n, addr(1), 300n, 700n, 0n] },
    { name: "DebtRecorded", args: [1n, 7n, addr(2), 100n, 100n, [addr(P2)], [90n]] },
    { name: "Credited", args: [7n, addr(P1), 200n, 200n] },
    { name: "Credited", args: [7n, addr(P2), 70n, 70n] },
    { name: "Credited", args: [7n, addr(0), 30n, 30n] },
    { name: "BatchSettled", args: [7n, id("batch-7"), 3n, 300n, 270n] },
  ]);
  expect(await f.escrow().isSettled(7n)).toBe(true);
  // the short client is not debited at all, and can take nothing out while it owes
  expect([await f.escrow().balanceOf(addr(2)), await f.escrow().heldOf(addr(2)), await f.escrow().debtOf(addr(2))]).toEqual([10n, 10n, 100n]);
  expect(await f.escrow().freeBalanceOf(addr(2))).toBe(0n);
  expect(await f.escrow().isDebtOpen(1n)).toBe(true);
  expect(await f.token().balanceOf(escrowAddress)).toBe(await owedTotal());
});

test("payDebt, by anyone, once the client's free balance covers the debt: the waiting providers and the fee are credited", async () => {
  await deposit(1, 1000n);
  await deposit(2, 10n);
  await mined(f.escrow(0).settle(mixedBatch(7n)));
  const pay = (caller: number, amount = 100n, credits = [90n]) => f.escrow(caller).payDebt(1n, 7n, addr(2), amount, [addr(P2)], credits);
  expect(await revertOf(pay(5))).toEqual({ name: "InsufficientFreeBalance", args: [addr(2), 10n, 100n] });
  await deposit(2, 95n);
  await mined(f.escrow(0).setHolds([addr(2)], [10n]));
  expect(await revertOf(pay(5))).toEqual({ name: "InsufficientFreeBalance", args: [addr(2), 95n, 100n] });
  await mined(f.escrow(0).setHolds([addr(2)], [5n]));
  expect(await revertOf(pay(5, 99n))).toEqual({ name: "UnknownDebt", args: [1n] });
  expect(await revertOf(pay(5, 100n, [91n]))).toEqual({ name: "UnknownDebt", args: [1n] });
  expect(await revertOf(f.escrow(5).payDebt(2n, 7n, addr(2), 100n, [addr(P2)], [90n]))).toEqual({ name: "UnknownDebt", args: [2n] });
  expect(await eventsOf(pay(5), f.escrow())).toEqual([
    { name: "DebtPaid", args: [1n, 7n, addr(2), 100n, 5n, 0n] },
    { name: "Credited", args: [7n, addr(P2), 90n, 160n] },
    { name: "Credited", args: [7n, addr(0), 10n, 40n] },
  ]);
  expect([await f.escrow().balanceOf(addr(2)), await f.escrow().heldOf(addr(2)), await f.escrow().debtOf(addr(2))]).toEqual([5n, 5n, 0n]);
  expect(await f.escrow().isDebtOpen(1n)).toBe(false);
  expect(await revertName(pay(5))).toBe("UnknownDebt");
  expect(await f.token().balanceOf(escrowAddress)).toBe(await owedTotal());
});

test("a debt keeps its share of a client's deposit from withdrawal until it is paid", async () => {
  await deposit(2, 10n);
  await mined(f.escrow(0).settle(batchTuple(1n, id("a"), 1, [addr(2)], [30n], [addr(P1)], [27n], [[0, 0, 27n]])));
  await deposit(2, 50n);
  await mined(f.escrow(2).requestWithdraw(60n));
  await f.chain.increaseTime(Number(await f.escrow().withdrawDelay()));
  await mined(f.escrow(2).withdraw());
  expect([await f.escrow().balanceOf(addr(2)), await f.escrow().debtOf(addr(2))]).toEqual([30n, 30n]);
  await mined(f.escrow(7).payDebt(1n, 1n, addr(2), 30n, [addr(P1)], [27n]));
  expect([await f.escrow().balanceOf(addr(2)), await f.escrow().claimableOf(addr(P1)), await f.escrow().claimableOf(addr(0))]).toEqual([0n, 27n, 3n]);
});

test("every client short: the batch still settles, with nothing debited or credited, one debt per client", async () => {
  const events = await eventsOf(
    f.escrow(0).settle(batchTuple(3n, id("c"), 2, [addr(1), addr(2)], [10n, 20n], [addr(P1)], [27n], [[0, 0, 9n], [1, 0, 18n]])),
    f.escrow(),
  );
  expect(events.map((e) => e.name)).toEqual(["DebtRecorded", "DebtRecorded", "Credited", "BatchSettled"]);
  expect(events[1].args).toEqual([2n, 3n, addr(2), 20n, 20n, [addr(P1)], [18n]]);
  expect(events.at(-1)!.args).toEqual([3n, id("c"), 2n, 0n, 0n]);
  expect(await f.escrow().claimableOf(addr(P1))).toBe(0n);
  expect(await f.escrow().debtCount()).toBe(2n);
});

test("lines that do not fit the settler's own debits and credits revert the batch (LinesMismatch)", async () => {
  await deposit(1, 100n);
  const s = (lines: [number, number, bigint][]) =>
    revertName(f.escrow(0).settle(batchTuple(1n, id("x"), 2, [addr(1), addr(2)], [50n, 20n], [addr(P1)], [60n], lines)));
  expect(await s([[0, 0, 45n], [1, 0, 21n]])).toBe("LinesMismatch"); // the short client's lines exceed its debit
  expect(await s([[0, 0, 45n], [1, 1, 15n]])).toBe("LinesMismatch"); // a provider index out of range
  const overDeferred = batchTuple(1n, id("x"), 2, [addr(1), addr(2)], [50n, 20n], [addr(P1)], [10n], [[0, 0, 1n], [1, 0, 15n]]);
  expect(await revertName(f.escrow(0).settle(overDeferred))).toBe("LinesMismatch"); // more deferred than the provider is credited
  expect(await s([[0, 0, 45n]])).toBe("LinesMismatch"); // the provider's credit is not the sum of its lines
  expect(await s([[0, 0, 45n], [1, 0, 15n]])).toBe("(no revert)");
  expect(await f.escrow().debtOf(addr(2))).toBe(20n);
});
