import fc from "fast-check";
import { MaxUint256, id } from "ethers";
import { buildSettlement, settleTuple, signedJobOf, type SettledJob, type SettlementBatch } from "./batch";
import { mined, revertName, startContractsFixture, type ContractsFixture } from "./fixture";
import { orderDigest, orderDomain, signOrder, type Order } from "./orders";
import { Watchtower, markedNonces, readCommittedBatch, type CommittedBatch } from "./watchtower";

/**
 * Random sequences of deposits, allowances, signed orders, batches (honest, over-charging, or debiting with orders
 * nobody signed, to the providers or to a thief), answers, time passing and claims, on an escrow with a challenge
 * window, clients challenging entries at random (justified or not), with a watchtower polling after every step (as a running one does). After every step the escrow holds
 * exactly what it owes (balances + claimable + pending + bonds + what open challenges hold); at the end, once every
 * window has passed, no client has lost more than the maxCost of the orders it signed plus the allowances it
 * approved, and a client that signed and approved nothing has lost nothing.
 */
const WINDOW = 600;
const ONE = 10n ** 18n;
const CLIENTS = [1, 2, 3];
const PROVIDERS = [5, 6, 9];
const SETTLER = 0;
const WATCHER = 8;
const ACCOUNTS = [SETTLER, WATCHER, ...CLIENTS, ...PROVIDERS];

type Intent =
  | { kind: "deposit"; client: number; amount: bigint }
  | { kind: "approve"; client: number; amount: bigint }
  | { kind: "sign"; client: number; maxCost: bigint }
  | { kind: "settle"; entries: { client: number; kind: "allowance" | "orders" | "forged"; perMille: number; provider: number }[] }
  | { kind: "answer"; pick: number }
  /** A client challenges any entry of a batch, justified or not (the settler may then answer it away). */
  | { kind: "grief"; client: number; pick: number }
  | { kind: "advance"; seconds: number }
  | { kind: "claim"; account: number };

const client = fc.constantFrom(...CLIENTS);
const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("deposit" as const), client, amount: fc.bigInt({ min: 1n, max: 50n }).map((n) => n * ONE) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("approve" as const), client, amount: fc.bigInt({ min: 0n, max: 20n }).map((n) => n * ONE) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("sign" as const), client, maxCost: fc.bigInt({ min: 1n, max: 10n }).map((n) => n * ONE) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      entries: fc.array(fc.record({ client, kind: fc.constantFrom("allowance" as const, "orders" as const, "forged" as const), perMille: fc.integer({ min: 300, max: 1500 }), provider: fc.constantFrom(...PROVIDERS) }), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("answer" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("grief" as const), client, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), seconds: fc.integer({ min: 1, max: WINDOW / 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("claim" as const), account: fc.constantFrom(SETTLER, WATCHER, ...PROVIDERS) }) },
);

interface SignedOrder {
  order: Order;
  signature: string;
  used: boolean;
}

interface State {
  deposited: Map<number, bigint>;
  approved: Map<number, bigint>;
  signed: Map<number, SignedOrder[]>;
  batches: { s: SettlementBatch; committed: CommittedBatch; jobs: Map<string, SignedOrder> }[];
  batchId: bigint;
  forged: bigint;
}

let f: ContractsFixture;
let base: string;

beforeAll(async () => {
  f = await startContractsFixture({ challengeWindowSeconds: WINDOW });
  for (const c of [SETTLER, ...CLIENTS]) await mined(f.token(c).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(SETTLER).postBond(f.admin.address, 100n * ONE));
  base = await f.chain.snapshot();
});
afterAll(async () => {
  await f?.stop();
});

const addr = (i: number) => f.chain.accounts[i].address;
const get = (m: Map<number, bigint>, k: number) => m.get(k) ?? 0n;
const now = async () => BigInt((await f.chain.provider.getBlock("latest"))!.timestamp);

async function settle(st: State, entries: Extract<Intent, { kind: "settle" }>["entries"]): Promise<void> {
  const domain = orderDomain(f.deployment.chainId, f.deployment.escrow);
  const jobs: SettledJob[] = [];
  const bySigned = new Map<string, SignedOrder>();
  for (const [k, e] of entries.entries()) {
    const jobId = id(`job-${st.batchId + 1n}-${k}`);
    const base = { jobId, client: addr(e.client), provider: addr(e.provider), resultHash: id(`r-${k}`) };
    const balance = (await f.escrow().balanceOf(addr(e.client))) as bigint;
    const of = (v: bigint) => (v * BigInt(e.perMille)) / 1000n;
    if (e.kind === "allowance") {
      const debitWei = of(balance > 0n ? balance : ONE);
      jobs.push({ ...base, debitWei, creditWei: (debitWei * 9n) / 10n, allowance: true });
    } else if (e.kind === "forged") {
      const debitWei = of(balance > 0n ? balance : ONE);
      jobs.push({ ...base, debitWei, creditWei: (debitWei * 9n) / 10n, order: { nonce: 1_000_000n + st.forged++, hash: id(`forged-${st.forged}`) } });
    } else {
      // the client's first unused signed order (none: skip); above 1000 per mille the settler over-charges it
      const so = (st.signed.get(e.client) ?? []).find((o) => !o.used);
      if (so === undefined) continue;
      so.used = true;
      const debitWei = of(so.order.maxCost);
      jobs.push({ ...base, jobId: so.order.jobId, debitWei, creditWei: (debitWei * 9n) / 10n, order: { nonce: so.order.nonce, hash: orderDigest(domain, so.order) } });
      bySigned.set(so.order.jobId, so);
    }
  }
  if (jobs.length === 0) return;
  const s = buildSettlement(++st.batchId, jobs);
  const receipt = await (await f.escrow(SETTLER).settle(settleTuple(s))).wait();
  const topic = f.escrow().interface.getEvent("BatchCommitted")!.topicHash;
  const log = receipt!.logs.find((l: { topics: readonly string[] }) => l.topics[0] === topic)!;
  st.batches.push({ s, committed: await readCommittedBatch(f.escrow(), log), jobs: bySigned });
}

/** The settler answers an open challenge with every job of the entry its client's signed orders cover. */
async function answer(st: State, pick: number): Promise<void> {
  const open: { b: State["batches"][number]; clientIndex: number }[] = [];
  for (const b of st.batches) {
    for (let i = 0; i < b.s.clients.length; i++) if (Number((await f.escrow().challengeOf(b.s.batchId, i))[2]) === 1) open.push({ b, clientIndex: i });
  }
  // answerable ones first: those whose batch settled signed orders
  const answerable = open.filter((o) => o.b.jobs.size > 0);
  const from = answerable.length > 0 ? answerable : open;
  if (from.length === 0) return;
  const { b, clientIndex } = from[pick % from.length];
  const [, deadline] = await f.escrow().challengeOf(b.s.batchId, clientIndex);
  if ((await now()) + 1n > deadline) return;
  const marked = new Set(markedNonces(b.committed.batch, clientIndex).map(String));
  const jobs = b.s.leaves
    .map((leaf) => ({ leaf, so: b.jobs.get(leaf.jobId) }))
    .filter(({ leaf, so }) => so !== undefined && leaf.client === b.s.clients[clientIndex] && marked.has(String(so.order.nonce)) && leaf.debitWei <= so.order.maxCost)
    .sort((x, y) => (x.so!.order.nonce < y.so!.order.nonce ? -1 : 1))
    .map(({ leaf, so }) => signedJobOf(b.s, leaf, so!.order, so!.signature));
  if (jobs.length === 0) return;
  // only an answer that covers the whole entry is taken; a short one is refused and changes nothing
  const covers = jobs.reduce((t, j) => t + j.debit, 0n) >= b.s.debits[clientIndex];
  expect(await revertName(f.escrow(SETTLER).answer(b.committed.batch, b.committed.commitment, clientIndex, jobs))).toBe(covers ? "(no revert)" : "AnswerShort");
}

async function step(st: State, i: Intent): Promise<void> {
  switch (i.kind) {
    case "deposit":
      await mined(f.escrow(i.client).deposit(i.amount));
      st.deposited.set(i.client, get(st.deposited, i.client) + i.amount);
      return;
    case "approve":
      await mined(f.escrow(i.client).approveSpending(i.amount, (await now()) + 86_400n));
      st.approved.set(i.client, get(st.approved, i.client) + i.amount);
      return;
    case "sign": {
      const list = st.signed.get(i.client) ?? [];
      const order: Order = { jobId: id(`order-${i.client}-${list.length}`), client: addr(i.client), maxCost: i.maxCost, market: id("m"), expiry: (await now()) + 86_400n, nonce: BigInt(list.length) };
      list.push({ order, signature: await signOrder(f.chain.signer(i.client), orderDomain(f.deployment.chainId, f.deployment.escrow), order), used: false });
      st.signed.set(i.client, list);
      return;
    }
    case "settle":
      return settle(st, i.entries);
    case "answer":
      return answer(st, i.pick);
    case "grief": {
      const entries = st.batches.slice(-2).flatMap((b) => b.s.clients.map((_, k) => ({ b, k })));
      if (entries.length === 0) return;
      const { b, k } = entries[i.pick % entries.length];
      const name = await revertName(f.escrow(i.client).challenge(b.committed.batch, b.committed.commitment, k));
      expect(["(no revert)", "NotChallengeable", "AlreadyChallenged", "ChallengeWindowClosed"]).toContain(name);
      return;
    }
    case "advance":
      return f.chain.increaseTime(i.seconds);
    case "claim": {
      const name = await revertName(f.escrow(i.account).claim());
      expect(["(no revert)", "NothingToClaim"]).toContain(name);
    }
  }
}

async function expectConserved(): Promise<void> {
  const e = f.escrow();
  let owed: bigint = await e.heldByChallenges();
  for (const i of ACCOUNTS) owed += (await e.balanceOf(addr(i))) + (await e.claimableOf(addr(i))) + (await e.pendingOf(addr(i))) + (await e.bondOf(addr(i)));
  expect(await f.token().balanceOf(f.deployment.escrow)).toBe(owed);
}

test("with a watchtower, no client loses more than it signed for and allowed, and the escrow owes exactly what it holds", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(intent, { minLength: 20, maxLength: 20 }), async (intents) => {
      await f.chain.revert(base);
      base = await f.chain.snapshot();
      const st: State = { deposited: new Map(), approved: new Map(), signed: new Map(), batches: [], batchId: 0n, forged: 0n };
      const tower = new Watchtower(f.escrow(WATCHER), (c) => new Map((st.signed.get(CLIENTS.find((k) => addr(k) === c)!) ?? []).map((o) => [o.order.nonce, o.order.maxCost])), { fromBlock: 0 });
      for (const i of intents) {
        await step(st, i);
        await tower.poll();
        await expectConserved();
      }
      for (let k = 0; k < 4; k++) {
        await f.chain.increaseTime(WINDOW / 2 + 1);
        await tower.poll();
      }
      // the clients' own challenges nobody answered: anyone resolves them after their deadline
      for (const b of st.batches) {
        for (let k = 0; k < b.s.clients.length; k++) {
          if (Number((await f.escrow().challengeOf(b.s.batchId, k))[2]) === 1) await mined(f.escrow(WATCHER).resolveChallenge(b.committed.batch, b.committed.commitment, k));
        }
      }
      await expectConserved();
      for (const c of CLIENTS) {
        const lost = get(st.deposited, c) - ((await f.escrow().balanceOf(addr(c))) as bigint);
        const signedFor = (st.signed.get(c) ?? []).reduce((t, o) => t + o.order.maxCost, 0n);
        expect(lost).toBeLessThanOrEqual(signedFor + get(st.approved, c));
        if (signedFor === 0n && get(st.approved, c) === 0n) expect(lost).toBe(0n);
      }
      // nothing is left in dispute
      expect(await f.escrow().heldByChallenges()).toBe(0n);
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 12) },
  );
}, 300_000);
