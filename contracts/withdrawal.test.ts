import { batchTuple, depositFrom, eventsOf, mined, revertOf, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";
import { id } from "ethers";

/**
 * Withdrawals in two steps: requestWithdraw(amount), then withdraw() once withdrawDelay has passed, paying at most
 * the free balance then (balance - held - debt). The delay gives the marketplace time to mirror a new job's hold
 * with setHolds, so a client cannot take back money a job was matched on before the chain holds it.
 */
let f: ContractsFixture;
let delay: number;

beforeAll(async () => {
  f = await startContractsFixture();
  delay = Number(await f.escrow().withdrawDelay());
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.reset();
});

const addr = (i: number) => f.signer(i).address;

const deposit = (i: number, amount: bigint) => depositFrom(f, i, amount);

async function latestTimestamp(): Promise<bigint> {
  return BigInt((await f.chain.provider.getBlock("latest"))!.timestamp);
}

test("the dev chain's delay is set at deployment and announced", async () => {
  expect(delay).toBe(60);
  const [log] = await f.escrow().queryFilter(f.escrow().filters.WithdrawDelayUpdated());
  expect([...(log as unknown as { args: unknown[] }).args]).toEqual([0n, 60n]);
});

test("a request unlocks after the delay; withdraw before it reverts, after it pays and closes the request", async () => {
  await deposit(1, 100n);
  const requested = await eventsOf(f.escrow(1).requestWithdraw(40n), f.escrow());
  const unlockAt = (await latestTimestamp()) + BigInt(delay);
  expect(requested).toEqual([{ name: "WithdrawRequested", args: [addr(1), 40n, unlockAt] }]);
  expect(await f.escrow().withdrawalOf(addr(1))).toEqual([40n, unlockAt]);
  expect(await revertOf(f.escrow(1).withdraw())).toEqual({ name: "WithdrawalLocked", args: [addr(1), unlockAt] });
  await f.chain.increaseTime(delay);
  const before = await f.token().balanceOf(addr(1));
  expect(await eventsOf(f.escrow(1).withdraw(), f.escrow())).toEqual([{ name: "Withdrawn", args: [addr(1), 40n, 60n] }]);
  expect(await f.token().balanceOf(addr(1))).toBe(before + 40n);
  expect(await f.escrow().balanceOf(addr(1))).toBe(60n);
  expect(await f.escrow().withdrawalOf(addr(1))).toEqual([0n, 0n]);
  expect(await revertName(f.escrow(1).withdraw())).toBe("NothingToWithdraw");
});

test("withdraw never takes held funds: it pays the free part and closes the request, or reverts keeping it", async () => {
  await deposit(1, 100n);
  await mined(f.escrow(1).requestWithdraw(100n));
  await mined(f.escrow(0).setHolds([addr(1)], [60n]));
  await f.chain.increaseTime(delay);
  expect(await eventsOf(f.escrow(1).withdraw(), f.escrow())).toEqual([{ name: "Withdrawn", args: [addr(1), 40n, 60n] }]);
  expect([await f.escrow().balanceOf(addr(1)), await f.escrow().heldOf(addr(1))]).toEqual([60n, 60n]);
  expect(await f.escrow().withdrawalOf(addr(1))).toEqual([0n, 0n]);

  await mined(f.escrow(1).requestWithdraw(10n));
  await f.chain.increaseTime(delay);
  expect(await revertOf(f.escrow(1).withdraw())).toEqual({ name: "InsufficientFreeBalance", args: [addr(1), 0n, 10n] });
  expect((await f.escrow().withdrawalOf(addr(1)))[0]).toBe(10n);
  await mined(f.escrow(0).setHolds([addr(1)], [0n]));
  await mined(f.escrow(1).withdraw());
  expect(await f.escrow().balanceOf(addr(1))).toBe(50n);
});

test("a request above the balance reverts; a new request replaces the old and restarts the clock; 0 cancels", async () => {
  await deposit(1, 100n);
  expect(await revertOf(f.escrow(1).requestWithdraw(101n))).toEqual({ name: "InsufficientBalance", args: [addr(1), 100n, 101n] });
  await mined(f.escrow(1).requestWithdraw(50n));
  await f.chain.increaseTime(delay - 10);
  await mined(f.escrow(1).requestWithdraw(60n));
  const unlockAt = (await latestTimestamp()) + BigInt(delay);
  await f.chain.increaseTime(20);
  expect(await revertOf(f.escrow(1).withdraw())).toEqual({ name: "WithdrawalLocked", args: [addr(1), unlockAt] });
  expect(await eventsOf(f.escrow(1).requestWithdraw(0n), f.escrow())).toEqual([{ name: "WithdrawRequested", args: [addr(1), 0n, 0n] }]);
  await f.chain.increaseTime(delay);
  expect(await revertName(f.escrow(1).withdraw())).toBe("NothingToWithdraw");
});

test("setWithdrawDelay applies to later requests only, and at most 30 days", async () => {
  await deposit(1, 100n);
  await mined(f.escrow(1).requestWithdraw(10n));
  expect(await eventsOf(f.escrow(0).setWithdrawDelay(3600), f.escrow())).toEqual([{ name: "WithdrawDelayUpdated", args: [60n, 3600n] }]);
  await f.chain.increaseTime(delay);
  await mined(f.escrow(1).withdraw());
  await mined(f.escrow(1).requestWithdraw(10n));
  expect((await f.escrow().withdrawalOf(addr(1)))[1]).toBe((await latestTimestamp()) + 3600n);
  expect(await revertOf(f.escrow(0).setWithdrawDelay(30 * 86400 + 1))).toEqual({ name: "WithdrawDelayTooLong", args: [30n * 86400n + 1n, 30n * 86400n] });
});

test("the withdraw-before-mirror attack: a request made as the job is matched cannot take the job's money once its hold is mirrored within the delay", async () => {
  await deposit(1, 100n);
  await deposit(2, 100n);
  // the attacker's job is matched off chain; before its hold reaches the chain the attacker asks for everything
  await mined(f.escrow(1).requestWithdraw(100n));
  expect(await revertName(f.escrow(1).withdraw())).toBe("WithdrawalLocked");
  // a settlement pass later (well within the delay) the hold is on chain
  await mined(f.escrow(0).setHolds([addr(1), addr(2)], [60n, 30n]));
  await f.chain.increaseTime(delay);
  await mined(f.escrow(1).withdraw());
  expect(await f.escrow().balanceOf(addr(1))).toBe(60n);
  // both clients' jobs settle in one batch: nobody is short
  const events = await eventsOf(
    f.escrow(0).settle(batchTuple(1n, id("b"), 2, [addr(1), addr(2)], [50n, 30n], [addr(10), addr(11)], [45n, 27n], [[0, 0, 45n], [1, 1, 27n]])),
    f.escrow(),
  );
  expect(events.filter((e) => e.name === "DebtRecorded")).toEqual([]);
  expect([await f.escrow().claimableOf(addr(10)), await f.escrow().claimableOf(addr(11))]).toEqual([45n, 27n]);
  expect(await f.escrow().balanceOf(addr(1))).toBe(10n);
});
