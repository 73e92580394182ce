import { MaxUint256, ZeroHash, id, type Wallet } from "ethers";
import { buildSettlement, settleTuple, signedJobOf, type SettledJob, type SettlementBatch } from "./batch";
import { depositFrom, eventsOf, mined, revertName, startContractsFixture, type ContractsFixture } from "./fixture";
import { orderDigest, orderDomain, signOrder, type Order } from "./orders";
import { Watchtower, readCommittedBatch, type CommittedBatch } from "./watchtower";

/**
 * The challenge window against a settler key in the wrong hands: allowances, signed orders, bonds, challenges,
 * answers and the watchtower, on an escrow deployed with a 600 s window. Account #0 is the settler (and admin and
 * fee recipient); #1-#3 clients; #10 and #11 honest providers; #9 the thief's payout address; #5 runs a watchtower.
 */
const WINDOW = 600;
const ONE = 10n ** 18n;
const BOND = 1000n * ONE;
const SETTLER = 0;
const THIEF = 9;
const WATCHER = 5;
const P1 = 10;
const P2 = 11;

let f: ContractsFixture;
let base: string;

beforeAll(async () => {
  f = await startContractsFixture({ challengeWindowSeconds: WINDOW });
  await mined(f.token(SETTLER).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(SETTLER).postBond(f.admin.address, BOND));
  await mined(f.escrow(SETTLER).setMinBond(BOND));
  base = await f.chain.snapshot();
});
afterAll(async () => {
  await f?.stop();
});
beforeEach(async () => {
  await f.chain.revert(base);
  base = await f.chain.snapshot();
});

const addr = (i: number) => f.chain.accounts[i].address;
const wallet = (i: number): Wallet => f.chain.signer(i);
const domain = () => orderDomain(f.deployment.chainId, f.deployment.escrow);
const now = async () => BigInt((await f.chain.provider.getBlock("latest"))!.timestamp);

/** A job of client `c` for provider `p` under a signed order with `nonce` (maxCost = its debit unless given). */
async function orderedJob(k: number, c: number, p: number, debitWei: bigint, nonce: bigint, maxCost = debitWei) {
  const order: Order = { jobId: id(`job-${k}`), client: addr(c), maxCost, market: id("market-a100"), expiry: (await now()) + 3600n, nonce };
  const signature = await signOrder(wallet(c), domain(), order);
  const job: SettledJob = { jobId: order.jobId, client: addr(c), provider: addr(p), debitWei, creditWei: (debitWei * 9n) / 10n, resultHash: id(`r-${k}`), order: { nonce, hash: orderDigest(domain(), order) } };
  return { order, signature, job };
}

type Signed = Awaited<ReturnType<typeof orderedJob>>;

/** Settles `jobs` as batch `batchId` from `from` and reads the batch back as a watchtower does. */
async function settle(batchId: bigint, jobs: SettledJob[], from = SETTLER): Promise<{ s: SettlementBatch; committed: CommittedBatch }> {
  const s = buildSettlement(batchId, jobs);
  const receipt = await (await f.escrow(from).settle(settleTuple(s))).wait();
  const log = receipt!.logs.find((l: { topics: readonly string[] }) => l.topics[0] === f.escrow().interface.getEvent("BatchCommitted")!.topicHash)!;
  return { s, committed: await readCommittedBatch(f.escrow(), log) };
}

/** The answer's signed jobs for `signed` (in nonce order) against batch `s`. */
function answerOf(s: SettlementBatch, signed: Signed[]) {
  return [...signed]
    .sort((a, b) => (a.order.nonce < b.order.nonce ? -1 : 1))
    .map(({ order, signature, job }) => signedJobOf(s, s.leaves.find((l) => l.jobId === job.jobId)!, order, signature));
}

/** The escrow owes exactly what it holds: balances, claimable, pending credits, bonds, what open challenges hold. */
async function expectConserved(accounts: number[]): Promise<void> {
  const e = f.escrow();
  let owed: bigint = await e.heldByChallenges();
  for (const i of new Set([SETTLER, ...accounts])) {
    owed += (await e.balanceOf(addr(i))) + (await e.claimableOf(addr(i))) + (await e.pendingOf(addr(i))) + (await e.bondOf(addr(i)));
  }
  expect(await f.token().balanceOf(f.deployment.escrow)).toBe(owed);
}

test("a thief with the settler key debits every client its whole balance: the watchtower gets all of it back, the bond is slashed, honest providers are paid", async () => {
  for (const c of [1, 2, 3]) await depositFrom(f, c, 100n * ONE);
  // client 2 lets the marketplace spend 5 OGPU without signing per job
  await mined(f.escrow(2).approveSpending(5n * ONE, (await now()) + 86_400n));
  const a = await orderedJob(1, 1, P1, 2n * ONE, 0n);
  const b = await orderedJob(2, 1, P2, 3n * ONE, 1n);
  const honest = await settle(1n, [a.job, b.job, { jobId: id("job-3"), client: addr(2), provider: addr(P1), debitWei: 4n * ONE, creditWei: 36n * ONE / 10n, resultHash: id("r-3"), allowance: true }]);
  const signedBy = new Map<string, Map<bigint, bigint>>([[addr(1), new Map([[0n, 2n * ONE], [1n, 3n * ONE]])]]);
  const tower = new Watchtower(f.escrow(WATCHER), (client) => signedBy.get(client) ?? new Map(), { fromBlock: 0 });

  // the thief: every client's whole balance to its own address; for client 2 what is left of the allowance as an
  // allowance entry (the client agreed to that much), the rest as an "order" entry without orders
  const left = async (c: number) => (await f.escrow().balanceOf(addr(c))) as bigint;
  const theft: SettledJob[] = [];
  for (const c of [1, 2, 3]) {
    const whole = await left(c);
    const allowed = c === 2 ? 1n * ONE : 0n;
    if (allowed > 0n) theft.push({ jobId: id(`steal-a-${c}`), client: addr(c), provider: addr(THIEF), debitWei: allowed, creditWei: allowed, resultHash: ZeroHash, allowance: true });
    theft.push({ jobId: id(`steal-${c}`), client: addr(c), provider: addr(THIEF), debitWei: whole - allowed, creditWei: whole - allowed, resultHash: ZeroHash });
  }
  const before = { 1: await left(1), 2: await left(2), 3: await left(3) };
  await settle(2n, theft);
  expect(await left(1)).toBe(0n);
  expect(await f.escrow().pendingOf(addr(THIEF))).toBe(300n * ONE - 9n * ONE);

  const findings = await tower.poll();
  const seen = (batchId: bigint) => findings.filter((x) => x.batchId === batchId).map((x) => `${x.client} ${x.action}`).sort();
  expect(seen(1n)).toEqual([`${addr(1)} ok`, `${addr(2)} allowance`].sort());
  expect(seen(2n)).toEqual([`${addr(1)} challenged`, `${addr(2)} allowance`, `${addr(2)} challenged`, `${addr(3)} challenged`].sort());
  // the challenged credits left the thief's pending balance at once
  expect(await f.escrow().pendingOf(addr(THIEF))).toBe(1n * ONE);
  await expectConserved([1, 2, 3, THIEF, WATCHER, P1, P2]);

  // nobody answers; after the deadline the watchtower resolves its challenges
  await f.chain.increaseTime(WINDOW + 1);
  await tower.poll();
  expect(await left(1)).toBe(before[1]);
  expect(await left(2)).toBe(before[2] - 1n * ONE); // only what its allowance allowed
  expect(await left(3)).toBe(before[3]);
  expect(await f.escrow().bondOf(addr(SETTLER))).toBe(0n);
  expect(await f.escrow().claimableOf(addr(WATCHER))).toBe(BOND);
  // the key can settle no more without a new bond
  const more = buildSettlement(3n, [{ jobId: id("x"), client: addr(3), provider: addr(THIEF), debitWei: 1n, creditWei: 1n, resultHash: ZeroHash }]);
  expect(await revertName(f.escrow(SETTLER).settle(settleTuple(more)))).toBe("BondTooLow");

  // the honest batch's providers are paid once its credits mature; the thief gets its allowance part only
  await f.chain.increaseTime(2 * WINDOW);
  expect(await f.escrow().claimableOf(addr(P1))).toBe(honest.s.credits[honest.s.providers.indexOf(addr(P1))]);
  expect(await f.escrow().claimableOf(addr(P2))).toBe((3n * ONE * 9n) / 10n);
  expect(await f.escrow().claimableOf(addr(THIEF))).toBe(1n * ONE);
  await mined(f.escrow(P1).claim());
  await expectConserved([1, 2, 3, THIEF, WATCHER, P1, P2]);
});

test("credits are pending through the window: claim pays nothing before, everything after", async () => {
  await depositFrom(f, 1, 10n * ONE);
  const a = await orderedJob(1, 1, P1, 2n * ONE, 7n);
  await settle(1n, [a.job]);
  expect(await f.escrow().claimableOf(addr(P1))).toBe(0n);
  expect(await f.escrow().pendingOf(addr(P1))).toBe((2n * ONE * 9n) / 10n);
  expect(await revertName(f.escrow(P1).claim())).toBe("NothingToClaim");
  await f.chain.increaseTime(2 * WINDOW);
  expect(await f.escrow().pendingOf(addr(P1))).toBe(0n);
  const events = await eventsOf(f.escrow(P1).claim(), f.escrow());
  expect(events).toContainEqual({ name: "Claimed", args: [addr(P1), addr(P1), (2n * ONE * 9n) / 10n] });
  expect(await f.escrow().isNonceUsed(addr(1), 7n)).toBe(true);
  expect(await f.escrow().isNonceUsed(addr(1), 8n)).toBe(false);
});

test("an answer with the client's signed orders rejects the challenge: the credits are paid and the deposit is lost", async () => {
  await mined(f.escrow(SETTLER).setChallengeDeposit(1n * ONE));
  await depositFrom(f, 1, 10n * ONE);
  const jobs = [await orderedJob(1, 1, P1, 2n * ONE, 3n), await orderedJob(2, 1, P2, 1n * ONE, 4n)];
  const { s, committed } = await settle(1n, jobs.map((j) => j.job));
  await mined(f.token(1).approve(f.deployment.escrow, 1n * ONE));
  await mined(f.escrow(1).challenge(committed.batch, committed.commitment, 0));
  expect(await f.escrow().pendingOf(addr(P1))).toBe(0n);
  // a forged signature does not answer it
  const forged = answerOf(s, jobs);
  forged[0] = { ...forged[0], signature: await signOrder(wallet(2), domain(), jobs[0].order) };
  expect(await revertName(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, forged))).toBe("InvalidSignedJob");
  // a higher debit than the order allows does not either
  const greedy = answerOf(s, jobs);
  greedy[1] = { ...greedy[1], debit: greedy[1].debit + 1n };
  expect(await revertName(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, greedy))).toBe("InvalidSignedJob");
  const events = await eventsOf(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, answerOf(s, jobs)), f.escrow());
  expect(events).toContainEqual({ name: "ChallengeResolved", args: [1n, 0n, addr(1), false, 3n * ONE, 0n, 0n] });
  expect(await f.escrow().claimableOf(addr(P1))).toBe((2n * ONE * 9n) / 10n);
  expect(await f.escrow().claimableOf(addr(P2))).toBe((1n * ONE * 9n) / 10n);
  // fee recipient (#0): the batch's fee and the lost deposit
  expect(await f.escrow().claimableOf(addr(SETTLER))).toBe(3n * ONE / 10n + 1n * ONE);
  expect(await f.escrow().bondOf(addr(SETTLER))).toBe(BOND);
  expect(await f.escrow().balanceOf(addr(1))).toBe(7n * ONE);
  expect(await revertName(f.escrow(1).challenge(committed.batch, committed.commitment, 0))).toBe("AlreadyChallenged");
  await expectConserved([1, P1, P2]);
});

test("an entry debiting more than its orders cover cannot be answered: after the deadline the client gets its whole debit back and the bond goes to the challenger", async () => {
  await depositFrom(f, 1, 10n * ONE);
  const covered = await orderedJob(1, 1, P1, 2n * ONE, 0n);
  // the second job's order allows 1 OGPU, the settler charged 3
  const over = await orderedJob(2, 1, P2, 3n * ONE, 1n, 1n * ONE);
  const { s, committed } = await settle(1n, [covered.job, over.job]);
  await mined(f.escrow(WATCHER).challenge(committed.batch, committed.commitment, 0));
  // the over-charged job cannot be part of an answer; the covered one alone is short, and a short answer is refused
  // (else a client could answer its own challenge with nothing and take the bond)
  expect(await revertName(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, answerOf(s, [covered, over])))).toBe("InvalidSignedJob");
  expect(await revertName(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, answerOf(s, [covered])))).toBe("AnswerShort");
  expect(await revertName(f.escrow(1).answer(committed.batch, committed.commitment, 0, []))).toBe("AnswerShort");
  expect(await revertName(f.escrow(WATCHER).resolveChallenge(committed.batch, committed.commitment, 0))).toBe("AnswerPeriodNotOver");
  await f.chain.increaseTime(WINDOW + 1);
  const events = await eventsOf(f.escrow(WATCHER).resolveChallenge(committed.batch, committed.commitment, 0), f.escrow());
  expect(events).toContainEqual({ name: "ChallengeResolved", args: [1n, 0n, addr(1), true, 0n, 5n * ONE, BOND] });
  expect(await f.escrow().balanceOf(addr(1))).toBe(10n * ONE);
  await f.chain.increaseTime(2 * WINDOW);
  expect(await f.escrow().claimableOf(addr(P1))).toBe(0n);
  expect(await f.escrow().claimableOf(addr(P2))).toBe(0n);
  expect(await f.escrow().claimableOf(addr(WATCHER))).toBe(BOND);
  await expectConserved([1, P1, P2, WATCHER]);
});

test("one order answers every leaf of its job (replicas on two providers), their debits together within its maxCost", async () => {
  await depositFrom(f, 1, 10n * ONE);
  const first = await orderedJob(1, 1, P1, 2n * ONE, 0n, 4n * ONE);
  const second = { ...first, job: { ...first.job, provider: addr(P2), debitWei: 2n * ONE, creditWei: (2n * ONE * 9n) / 10n } };
  const { s, committed } = await settle(1n, [first.job, second.job]);
  expect(s.nonceMarks).toEqual([0n, 1n]);
  await mined(f.escrow(WATCHER).challenge(committed.batch, committed.commitment, 0));
  const leafOf = (p: number) => s.leaves.find((l) => l.provider === addr(p))!;
  const both = [signedJobOf(s, leafOf(P1), first.order, first.signature), signedJobOf(s, leafOf(P2), first.order, first.signature)];
  // the same leaf twice, claiming more than the order allows, does not answer
  const thrice = [both[0], both[1], both[1]];
  expect(await revertName(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, thrice))).toBe("InvalidSignedJob");
  const events = await eventsOf(f.escrow(SETTLER).answer(committed.batch, committed.commitment, 0, both), f.escrow());
  expect(events).toContainEqual({ name: "ChallengeResolved", args: [1n, 0n, addr(1), false, 4n * ONE, 0n, 0n] });
  expect(await f.escrow().claimableOf(addr(P1))).toBe((2n * ONE * 9n) / 10n);
  expect(await f.escrow().claimableOf(addr(P2))).toBe((2n * ONE * 9n) / 10n);
  await expectConserved([1, P1, P2, WATCHER]);
});

test("what cannot be challenged or settled: allowance entries, closed windows, other batches' data, reused nonces, unbonded settlers", async () => {
  await depositFrom(f, 1, 10n * ONE);
  await mined(f.escrow(1).approveSpending(5n * ONE, (await now()) + 86_400n));
  const allowanceJob: SettledJob = { jobId: id("a"), client: addr(1), provider: addr(P1), debitWei: 1n * ONE, creditWei: 1n * ONE, resultHash: ZeroHash, allowance: true };
  const o = await orderedJob(2, 1, P1, 1n * ONE, 5n);
  const { committed } = await settle(1n, [allowanceJob, o.job]);
  expect(await revertName(f.escrow(WATCHER).challenge(committed.batch, committed.commitment, 0))).toBe("NotChallengeable");
  const tampered = { ...committed.batch, debits: [committed.batch.debits[0], committed.batch.debits[1] + 1n] };
  expect(await revertName(f.escrow(WATCHER).challenge(tampered, committed.commitment, 1))).toBe("UnknownBatch");
  expect(await revertName(f.escrow(WATCHER).answer(committed.batch, committed.commitment, 1, []))).toBe("NoOpenChallenge");
  // the same order nonce again: the settler's own batch reverts
  const again = buildSettlement(2n, [{ ...o.job, jobId: id("other") }]);
  expect(await revertName(f.escrow(SETTLER).settle(settleTuple(again)))).toBe("NonceReused");
  // an allowance decrease waits for the withdrawal delay; a raise applies at once
  const [amountBefore] = await f.escrow().allowanceOf(addr(1));
  expect(amountBefore).toBe(4n * ONE);
  await mined(f.escrow(1).approveSpending(0n, 0n));
  expect((await f.escrow().allowanceOf(addr(1)))[0]).toBe(4n * ONE);
  await f.chain.increaseTime(WINDOW + 1);
  expect(await revertName(f.escrow(WATCHER).challenge(committed.batch, committed.commitment, 1))).toBe("ChallengeWindowClosed");
  await f.chain.increaseTime(3600);
  expect((await f.escrow().allowanceOf(addr(1)))[0]).toBe(0n);
  // an allowance that no longer covers its entry makes it challengeable (AllowanceShort)
  const { committed: late } = await settle(3n, [{ ...allowanceJob, jobId: id("late") }]);
  expect(await revertName(f.escrow(WATCHER).challenge(late.batch, late.commitment, 0))).toBe("(no revert)");
  await f.chain.increaseTime(WINDOW + 1);
  await mined(f.escrow(WATCHER).resolveChallenge(late.batch, late.commitment, 0));
  expect(await f.escrow().balanceOf(addr(1))).toBe(10n * ONE - 2n * ONE);
  await expectConserved([1, P1, WATCHER]);
});

test("a debt recorded for a short client waits for the window, and an upheld challenge cancels it", async () => {
  await depositFrom(f, 1, 1n * ONE);
  const job: SettledJob = { jobId: id("d"), client: addr(1), provider: addr(THIEF), debitWei: 5n * ONE, creditWei: 5n * ONE, resultHash: ZeroHash };
  const { committed } = await settle(1n, [job]);
  expect(await f.escrow().debtOf(addr(1))).toBe(5n * ONE);
  await depositFrom(f, 1, 10n * ONE);
  expect(await revertName(f.escrow(THIEF).payDebt(1n, 1n, addr(1), 5n * ONE, [addr(THIEF)], [5n * ONE]))).toBe("DebtNotFinal");
  await mined(f.escrow(1).challenge(committed.batch, committed.commitment, 0));
  await f.chain.increaseTime(WINDOW + 1);
  expect(await revertName(f.escrow(THIEF).payDebt(1n, 1n, addr(1), 5n * ONE, [addr(THIEF)], [5n * ONE]))).toBe("DebtNotFinal");
  await mined(f.escrow(1).resolveChallenge(committed.batch, committed.commitment, 0));
  expect(await f.escrow().debtOf(addr(1))).toBe(0n);
  expect(await revertName(f.escrow(THIEF).payDebt(1n, 1n, addr(1), 5n * ONE, [addr(THIEF)], [5n * ONE]))).toBe("UnknownDebt");
  expect(await f.escrow().balanceOf(addr(1))).toBe(11n * ONE);
  await expectConserved([1, THIEF]);
});

test("an allowance decrease waits for the withdrawal delay, and one that fell due stays applied while a later one waits", async () => {
  const until = (await now()) + 86_400n;
  await mined(f.escrow(1).approveSpending(4n * ONE, until));
  await mined(f.escrow(1).approveSpending(1n * ONE, until));
  expect((await f.escrow().allowanceOf(addr(1)))[0]).toBe(4n * ONE);
  await f.chain.increaseTime(Number(await f.escrow().withdrawDelay()) + 1);
  expect((await f.escrow().allowanceOf(addr(1)))[0]).toBe(1n * ONE);
  // a larger amount with an earlier end is still a decrease: it waits, and 1 OGPU stays in force meanwhile
  await mined(f.escrow(1).approveSpending(2n * ONE, until - 10n));
  const [amount, , nextAmount, nextUntil] = await f.escrow().allowanceOf(addr(1));
  expect([amount, nextAmount, nextUntil]).toEqual([1n * ONE, 2n * ONE, until - 10n]);
});
