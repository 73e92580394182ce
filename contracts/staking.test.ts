import { ZeroAddress, id, parseUnits } from "ethers";
import type { ContractTransactionReceipt } from "ethers";
import { DEFAULT_UNBONDING_SECONDS } from "./index";
import { mined, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

let f: ContractsFixture;
let stakingAddress: string;
const ONE = parseUnits("1", 18);
const DAY = 24 * 60 * 60;

beforeAll(async () => {
  f = await startContractsFixture();
  stakingAddress = f.deployment.staking;
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.reset();
});
afterEach(async () => {
  const [staked, unbonding, held] = await Promise.all([
    f.staking().totalStaked(),
    f.staking().totalUnbonding(),
    f.token().balanceOf(stakingAddress),
  ]);
  expect(held).toBe(staked + unbonding);
});

const addr = (i: number) => f.signer(i).address;

async function stake(i: number, amount: bigint): Promise<void> {
  await mined(f.token(i).approve(stakingAddress, amount));
  await mined(f.staking(i).stake(amount));
}

async function latestTimestamp(): Promise<number> {
  const block = await f.chain.provider.getBlock("latest");
  if (block === null) throw new Error("no block");
  return block.timestamp;
}

async function stakeOf(i: number): Promise<{ staked: bigint; unbonding: bigint; unlockAt: bigint; slashed: bigint }> {
  const [staked, unbonding, unlockAt, slashed] = await f.staking().stakeOf(addr(i));
  return { staked, unbonding, unlockAt, slashed };
}

test("defaults: 7 days unbonding, 10% slash cap, treasury", async () => {
  expect(await f.staking().unbondingPeriod()).toBe(BigInt(DEFAULT_UNBONDING_SECONDS));
  expect(await f.staking().maxSlashBps()).toBe(1000n);
  expect(await f.staking().treasury()).toBe(addr(0));
});

test("stake, request, wait out the unbonding period, withdraw", async () => {
  await stake(1, 100n * ONE);
  expect(await stakeOf(1)).toEqual({ staked: 100n * ONE, unbonding: 0n, unlockAt: 0n, slashed: 0n });
  expect(await revertName(f.staking(1).withdraw())).toBe("NothingToWithdraw");
  expect(await revertName(f.staking(1).requestUnstake(101n * ONE))).toBe("InsufficientStake");
  expect(await revertName(f.staking(1).requestUnstake(0n))).toBe("ZeroAmount");

  await mined(f.staking(1).requestUnstake(40n * ONE));
  const unlockAt = BigInt((await latestTimestamp()) + 7 * DAY);
  expect(await stakeOf(1)).toEqual({ staked: 60n * ONE, unbonding: 40n * ONE, unlockAt, slashed: 0n });
  expect(await revertName(f.staking(1).withdraw())).toBe("StillUnbonding");

  await f.chain.increaseTime(7 * DAY - 60);
  expect(await revertName(f.staking(1).withdraw())).toBe("StillUnbonding");
  await f.chain.increaseTime(60);
  const before = await f.token().balanceOf(addr(1));
  await mined(f.staking(1).withdraw());
  expect(await f.token().balanceOf(addr(1))).toBe(before + 40n * ONE);
  expect(await stakeOf(1)).toEqual({ staked: 60n * ONE, unbonding: 0n, unlockAt: 0n, slashed: 0n });
  expect(await revertName(f.staking(1).withdraw())).toBe("NothingToWithdraw");
});

test("a second request adds to the pending one and restarts its clock", async () => {
  await stake(1, 100n);
  await mined(f.staking(1).requestUnstake(10n));
  await f.chain.increaseTime(5 * DAY);
  await mined(f.staking(1).requestUnstake(5n));
  const restarted = BigInt((await latestTimestamp()) + 7 * DAY);
  expect(await stakeOf(1)).toMatchObject({ staked: 85n, unbonding: 15n, unlockAt: restarted });
  await f.chain.increaseTime(3 * DAY);
  expect(await revertName(f.staking(1).withdraw())).toBe("StillUnbonding");
  await f.chain.increaseTime(4 * DAY);
  await mined(f.staking(1).withdraw());
  expect(await stakeOf(1)).toMatchObject({ staked: 85n, unbonding: 0n });
});

test("the admin's unbonding period applies to later requests", async () => {
  await mined(f.staking(0).setUnbondingPeriod(60));
  await stake(1, 10n);
  await mined(f.staking(1).requestUnstake(10n));
  await f.chain.increaseTime(61);
  await mined(f.staking(1).withdraw());
  expect(await revertName(f.staking(0).setUnbondingPeriod(366 * DAY))).toBe("UnbondingPeriodTooLong");
});

test("slash takes from staked, then unbonding, to the treasury, at most maxSlashBps of the total per call", async () => {
  await stake(1, 1000n);
  const reason = id("wrong-result");
  expect(await revertName(f.staking(0).slash(addr(1), 101n, reason))).toBe("SlashExceedsCap");
  expect(await revertName(f.staking(0).slash(addr(1), 0n, reason))).toBe("ZeroAmount");
  const treasuryBefore = await f.token().balanceOf(addr(0));
  const receipt: ContractTransactionReceipt = await (await f.staking(0).slash(addr(1), 100n, reason)).wait();
  const events = receipt.logs.map((log) => f.staking().interface.parseLog(log));
  expect(events.map((e) => e && { name: e.name, args: [...e.args] })).toContainEqual({ name: "Slashed", args: [addr(1), 100n, reason] });
  expect(await f.token().balanceOf(addr(0))).toBe(treasuryBefore + 100n);
  expect(await stakeOf(1)).toMatchObject({ staked: 900n, unbonding: 0n, slashed: 100n });
  expect(await revertName(f.staking(0).slash(addr(1), 91n, reason))).toBe("SlashExceedsCap");

  await mined(f.staking(1).requestUnstake(860n));
  await mined(f.staking(0).slash(addr(1), 90n, reason));
  expect(await stakeOf(1)).toMatchObject({ staked: 0n, unbonding: 810n, slashed: 190n });

  await mined(f.staking(0).setMaxSlashBps(10_000));
  await mined(f.staking(0).slash(addr(1), 810n, reason));
  expect(await stakeOf(1)).toMatchObject({ staked: 0n, unbonding: 0n, unlockAt: 0n, slashed: 1000n });
  expect(await revertName(f.staking(1).withdraw())).toBe("NothingToWithdraw");
  expect(await revertName(f.staking(0).slash(addr(2), 1n, reason))).toBe("SlashExceedsCap");
  expect(await revertName(f.staking(0).setMaxSlashBps(10_001))).toBe("BpsOutOfRange");
});

test("setTreasury redirects slashed tokens", async () => {
  await stake(1, 1000n);
  await mined(f.staking(0).setTreasury(addr(9)));
  const before = await f.token().balanceOf(addr(9));
  await mined(f.staking(0).slash(addr(1), 50n, id("offline")));
  expect(await f.token().balanceOf(addr(9))).toBe(before + 50n);
  expect(await revertName(f.staking(0).setTreasury(ZeroAddress))).toBe("ZeroAddress");
});

test("pause stops stake, requestUnstake, withdraw and slash", async () => {
  await stake(1, 100n);
  await mined(f.staking(1).requestUnstake(10n));
  await f.chain.increaseTime(7 * DAY);
  await mined(f.token(1).approve(stakingAddress, 10n));
  await mined(f.staking(0).pause());
  expect(await revertName(f.staking(1).stake(10n))).toBe("EnforcedPause");
  expect(await revertName(f.staking(1).requestUnstake(10n))).toBe("EnforcedPause");
  expect(await revertName(f.staking(1).withdraw())).toBe("EnforcedPause");
  expect(await revertName(f.staking(0).slash(addr(1), 1n, id("x")))).toBe("EnforcedPause");
  await mined(f.staking(0).setUnbondingPeriod(DAY));
  await mined(f.staking(0).unpause());
  await mined(f.staking(1).withdraw());
  await mined(f.staking(1).stake(10n));
  expect(await stakeOf(1)).toMatchObject({ staked: 100n, unbonding: 0n });
});
