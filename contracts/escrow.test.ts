import { ZeroAddress, ZeroHash, id, parseUnits } from "ethers";
import { buildSettlement, jobLeaf, jobLineTuple, settleTuple } from "./batch";
import type { SettledJob } from "./batch";
import { batchTuple, depositFrom, eventsOf, mined, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

let f: ContractsFixture;
let escrowAddress: string;
const ONE = parseUnits("1", 18);

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

const rootOf = (label: string) => id(label);

describe("deposit", () => {
  test("deposit moves tokens in and emits the new balance", async () => {
    const before = await f.token().balanceOf(addr(1));
    await mined(f.token(1).approve(escrowAddress, 100n * ONE));
    const events = await eventsOf(f.escrow(1).deposit(100n * ONE), f.escrow());
    expect(events).toContainEqual({ name: "Deposited", args: [addr(1), 100n * ONE, 100n * ONE] });
    expect(await f.escrow().balanceOf(addr(1))).toBe(100n * ONE);
    expect(await f.token().balanceOf(addr(1))).toBe(before - 100n * ONE);
    expect(await f.token().balanceOf(escrowAddress)).toBe(100n * ONE);
  });

  test("deposit without allowance or of zero reverts", async () => {
    expect(await revertName(f.escrow(1).deposit(5n))).toBe("ERC20InsufficientAllowance");
    expect(await revertName(f.escrow(1).deposit(0n))).toBe("ZeroAmount");
  });
});

describe("holds", () => {
  test("setHolds sets absolute amounts, clamps to the balance, last entry wins", async () => {
    await deposit(1, 100n);
    await deposit(2, 50n);
    const events = await eventsOf(f.escrow(0).setHolds([addr(1), addr(2), addr(3), addr(1)], [70n, 80n, 5n, 30n]), f.escrow());
    expect(events).toEqual([
      { name: "HoldsUpdated", args: [addr(1), 70n] },
      { name: "HoldsUpdated", args: [addr(2), 50n] },
      { name: "HoldsUpdated", args: [addr(3), 0n] },
      { name: "HoldsUpdated", args: [addr(1), 30n] },
    ]);
    expect(await f.escrow().heldOf(addr(1))).toBe(30n);
    expect(await f.escrow().heldOf(addr(2))).toBe(50n);
    expect(await f.escrow().heldOf(addr(3))).toBe(0n);
  });

  test("mismatched arrays revert", async () => {
    expect(await revertName(f.escrow(0).setHolds([addr(1)], []))).toBe("LengthMismatch");
  });
});

describe("settle", () => {
  test("debits clients, lowers their holds, credits providers and the fee", async () => {
    await deposit(1, 1000n);
    await deposit(2, 500n);
    await mined(f.escrow(0).setHolds([addr(1), addr(2)], [300n, 100n]));
    const [p1, p2] = [addr(10), addr(11)];
    const events = await eventsOf(
      f.escrow(0).settle(batchTuple(7n, rootOf("batch-7"), 3, [addr(1), addr(2)], [250n, 150n], [p1, p2], [200n, 160n], [[0, 0, 200n], [0, 1, 30n], [1, 1, 130n]])),
      f.escrow(),
    );
    expect(await f.escrow().balanceOf(addr(1))).toBe(750n);
    expect(await f.escrow().heldOf(addr(1))).toBe(50n);
    expect(await f.escrow().balanceOf(addr(2))).toBe(350n);
    expect(await f.escrow().heldOf(addr(2))).toBe(0n);
    expect(await f.escrow().claimableOf(p1)).toBe(200n);
    expect(await f.escrow().claimableOf(p2)).toBe(160n);
    expect(await f.escrow().claimableOf(addr(0))).toBe(40n);
    expect(await f.escrow().isSettled(7n)).toBe(true);
    expect(await f.escrow().batchRoot(7n)).toBe(rootOf("batch-7"));
    expect(await f.escrow().isSettled(8n)).toBe(false);
    expect(events).toEqual([
      { name: "Debited", args: [7n, addr(1), 250n, 750n, 50n] },
      { name: "Debited", args: [7n, addr(2), 150n, 350n, 0n] },
      { name: "Credited", args: [7n, p1, 200n, 200n] },
      { name: "Credited", args: [7n, p2, 160n, 160n] },
      { name: "Credited", args: [7n, addr(0), 40n, 40n] },
      { name: "BatchSettled", args: [7n, rootOf("batch-7"), 3n, 400n, 360n] },
    ]);
  });

  test("a batch id settles once", async () => {
    await deposit(1, 100n);
    await mined(f.escrow(0).settle(batchTuple(1n, rootOf("a"), 1, [addr(1)], [10n], [addr(10)], [10n], [[0, 0, 10n]])));
    expect(await revertName(f.escrow(0).settle(batchTuple(1n, rootOf("b"), 1, [addr(1)], [10n], [addr(10)], [10n], [[0, 0, 10n]])))).toBe(
      "BatchAlreadySettled",
    );
    expect(await f.escrow().balanceOf(addr(1))).toBe(90n);
  });

  test("credits above debits or lines and bad arguments revert (a client's shortfall does not: see debt.test.ts)", async () => {
    await deposit(1, 100n);
    const s = (root: string, clients: string[], debits: bigint[], providers: string[], credits: bigint[], lines: [number, number, bigint][] = [[0, 0, 10n]]) =>
      revertName(f.escrow(0).settle(batchTuple(1n, root, 1, clients, debits, providers, credits, lines)));
    expect(await s(rootOf("x"), [addr(1)], [10n], [addr(10)], [11n])).toBe("LinesMismatch"); // a credit that is not its lines
    expect(await s(rootOf("x"), [addr(1)], [10n], [addr(10)], [11n], [[0, 0, 11n]])).toBe("LinesMismatch"); // lines above the debit
    expect(await s(rootOf("x"), [addr(1)], [10n], [addr(10)], [10n], [])).toBe("LinesMismatch"); // a credit without lines
    expect(await s(ZeroHash, [addr(1)], [10n], [addr(10)], [10n])).toBe("EmptyMerkleRoot");
    expect(await s(rootOf("x"), [addr(1)], [10n, 1n], [addr(10)], [10n])).toBe("LengthMismatch");
    expect(await s(rootOf("x"), [addr(1)], [10n], [addr(10)], [])).toBe("LengthMismatch");
    expect(await s(rootOf("x"), [addr(1)], [10n], [ZeroAddress], [10n])).toBe("ZeroAddress");
    expect(await f.escrow().isSettled(1n)).toBe(false);
    expect(await f.escrow().balanceOf(addr(1))).toBe(100n);
  });
});

describe("claims", () => {
  beforeEach(async () => {
    await deposit(1, 1000n * ONE);
    await mined(f.escrow(0).settle(batchTuple(1n, rootOf("c"), 2, [addr(1)], [300n * ONE], [addr(5), addr(6)], [200n * ONE, 70n * ONE], [[0, 0, 200n * ONE], [0, 1, 70n * ONE]])));
  });

  test("claim pays the whole credit exactly, once", async () => {
    const before = await f.token().balanceOf(addr(5));
    const events = await eventsOf(f.escrow(5).claim(), f.escrow());
    expect(events).toContainEqual({ name: "Claimed", args: [addr(5), addr(5), 200n * ONE] });
    expect(await f.token().balanceOf(addr(5))).toBe(before + 200n * ONE);
    expect(await f.escrow().claimableOf(addr(5))).toBe(0n);
    expect(await revertName(f.escrow(5).claim())).toBe("NothingToClaim");
  });

  test("claimTo pays another address; the fee recipient claims the fee", async () => {
    const target = addr(15);
    const before = await f.token().balanceOf(target);
    await mined(f.escrow(6).claimTo(target));
    expect(await f.token().balanceOf(target)).toBe(before + 70n * ONE);
    expect(await revertName(f.escrow(6).claimTo(ZeroAddress))).toBe("ZeroAddress");
    const adminBefore = await f.token().balanceOf(addr(0));
    await mined(f.escrow(0).claim());
    expect(await f.token().balanceOf(addr(0))).toBe(adminBefore + 30n * ONE);
    expect(await revertName(f.escrow(7).claim())).toBe("NothingToClaim");
    await mined(f.escrow(5).claim());
    expect(await f.token().balanceOf(escrowAddress)).toBe(700n * ONE);
    expect(await f.escrow().balanceOf(addr(1))).toBe(700n * ONE);
  });

  test("setFeeRecipient redirects later fees", async () => {
    await mined(f.escrow(0).setFeeRecipient(addr(9)));
    expect(await f.escrow().feeRecipient()).toBe(addr(9));
    await mined(f.escrow(0).settle(batchTuple(2n, rootOf("d"), 1, [addr(1)], [10n], [addr(5)], [4n], [[0, 0, 4n]])));
    expect(await f.escrow().claimableOf(addr(9))).toBe(6n);
    expect(await revertName(f.escrow(0).setFeeRecipient(ZeroAddress))).toBe("ZeroAddress");
  });
});

describe("verifyJob", () => {
  test("every job of a settled batch verifies with its proof; anything else does not", async () => {
    for (const i of [1, 2, 3]) await deposit(i, 10n * ONE);
    const jobs: SettledJob[] = Array.from({ length: 7 }, (_, k) => ({
      jobId: id(`job-${k}`),
      client: addr(1 + (k % 3)),
      provider: addr(10 + (k % 2)),
      debitWei: BigInt(k + 1) * 10n ** 16n,
      creditWei: BigInt(k + 1) * 9n * 10n ** 15n,
      resultHash: id(`result-${k}`),
    }));
    const batch = buildSettlement(42n, jobs);
    await mined(f.escrow(0).settle(settleTuple(batch)));
    for (const leaf of batch.leaves) {
      const line = jobLineTuple(leaf);
      expect(await f.escrow().jobLeaf(line)).toBe(jobLeaf(leaf));
      const proof = batch.tree.proofOf(jobLeaf(leaf));
      expect(await f.escrow().verifyJob(42n, line, proof)).toBe(true);
      expect(await f.escrow().verifyJob(42n, { ...line, credit: line.credit + 1n }, proof)).toBe(false);
      expect(await f.escrow().verifyJob(42n, { ...line, debit: line.debit + 1n }, proof)).toBe(false);
      expect(await f.escrow().verifyJob(42n, { ...line, client: addr(12) }, proof)).toBe(false);
      expect(await f.escrow().verifyJob(42n, { ...line, provider: addr(12) }, proof)).toBe(false);
      expect(await f.escrow().verifyJob(43n, line, proof)).toBe(false);
    }
    const proofOfSecond = batch.tree.proofOf(jobLeaf(batch.leaves[1]));
    expect(await f.escrow().verifyJob(42n, jobLineTuple(batch.leaves[0]), proofOfSecond)).toBe(false);
    expect(await f.escrow().balanceOf(addr(1))).toBe(10n * ONE - (1n + 4n + 7n) * 10n ** 16n);
    expect(await f.escrow().claimableOf(addr(0))).toBe(batch.feeWei);
  });
});

describe("pause", () => {
  test("pause stops deposit, requestWithdraw, withdraw, setHolds, settle, payDebt, claim and claimTo; admin and views keep working", async () => {
    await deposit(1, 100n);
    await mined(f.escrow(0).settle(batchTuple(1n, rootOf("p"), 1, [addr(1)], [10n], [addr(5)], [10n], [[0, 0, 10n]])));
    await mined(f.escrow(0).settle(batchTuple(3n, rootOf("debt"), 1, [addr(3)], [5n], [addr(5)], [5n], [[0, 0, 5n]])));
    await mined(f.escrow(1).requestWithdraw(90n));
    await f.chain.increaseTime(Number(await f.escrow().withdrawDelay()));
    await mined(f.token(2).approve(escrowAddress, 10n));
    await mined(f.escrow(0).pause());
    expect(await f.escrow().paused()).toBe(true);
    expect(await revertName(f.escrow(2).deposit(10n))).toBe("EnforcedPause");
    expect(await revertName(f.escrow(1).requestWithdraw(1n))).toBe("EnforcedPause");
    expect(await revertName(f.escrow(1).withdraw())).toBe("EnforcedPause");
    expect(await revertName(f.escrow(0).setHolds([addr(1)], [1n]))).toBe("EnforcedPause");
    expect(await revertName(f.escrow(0).settle(batchTuple(2n, rootOf("q"), 1, [addr(1)], [1n], [addr(5)], [1n])))).toBe("EnforcedPause");
    expect(await revertName(f.escrow(2).payDebt(1n, 3n, addr(3), 5n, [addr(5)], [5n]))).toBe("EnforcedPause");
    expect(await revertName(f.escrow(5).claim())).toBe("EnforcedPause");
    expect(await revertName(f.escrow(5).claimTo(addr(6)))).toBe("EnforcedPause");
    expect(await f.escrow().balanceOf(addr(1))).toBe(90n);
    await mined(f.escrow(0).setFeeRecipient(addr(9)));
    await mined(f.escrow(0).setWithdrawDelay(120));
    expect(await revertName(f.escrow(0).pause())).toBe("EnforcedPause");
    await mined(f.escrow(0).unpause());
    expect(await revertName(f.escrow(0).unpause())).toBe("ExpectedPause");
    await mined(f.escrow(5).claim());
    await mined(f.escrow(2).deposit(10n));
    await mined(f.escrow(1).withdraw());
    expect(await f.escrow().balanceOf(addr(1))).toBe(0n);
  });
});
