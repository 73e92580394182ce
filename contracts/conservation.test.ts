import fc from "fast-check";
import { MaxUint256, id } from "ethers";
import { encodeLine } from "./batch";
import { mined, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

/**
 * Random sequences of deposits, withdrawal requests, withdrawals (before and after the delay), holds, settlements
 * with short clients (their lines become debts), debt payments and claims, against Escrow and a model of it. After
 * every step: the escrow's token balance == sum of balances + sum of claimables, every held <= balance, and the
 * chain agrees with the model (balances, holds, claimables, debts, pending requests, and which steps revert, and
 * why). Every withdrawal is checked against the chain's own state just before it: it never takes more than
 * balance - held - debt, and leaves the hold untouched.
 */
const CLIENTS = [1, 2, 3, 4];
const PROVIDERS = [5, 6, 7];
const FEE_RECIPIENT = 0;
const EVERYONE = [FEE_RECIPIENT, ...CLIENTS, ...PROVIDERS];
/** The test's withdrawal delay: far longer than a run's blocks add to the chain's clock, so only `advance` unlocks. */
const DELAY = 3600;

interface Line { client: number; provider: number; amount: bigint }
interface Debt { id: bigint; batchId: bigint; client: number; amount: bigint; providers: number[]; credits: bigint[] }

type Action =
  | { kind: "deposit"; client: number; amount: bigint }
  | { kind: "request"; client: number; amount: bigint }
  | { kind: "withdraw"; client: number }
  | { kind: "advance" }
  | { kind: "holds"; entries: { client: number; amount: bigint }[] }
  | { kind: "settle"; batchId: bigint; debits: { client: number; amount: bigint }[]; providers: number[]; credits: bigint[]; lines: Line[] }
  /** `topUp`: the debtor first deposits this much (0: nothing), so that payments that can succeed are tried too. */
  | { kind: "payDebt"; payer: number; debt: Debt; topUp: bigint }
  | { kind: "claim"; account: number; to: number | null };

/** What a step means to do; amounts other than deposits are per-mille shares of the model's state then. */
type Intent =
  | { kind: "deposit"; client: number; amount: bigint }
  /** `pick`: a client with a balance (any client when none has one). */
  | { kind: "request"; pick: number; perMille: number }
  /** `pick`: mostly a client with a pending request, else `client`. */
  | { kind: "withdraw"; client: number; pick: number; anyone: boolean }
  | { kind: "advance" }
  | { kind: "holds"; entries: { client: number; perMille: number }[] }
  | {
      kind: "settle";
      batchId: bigint;
      /** Of the balance (of 1 OGPU, less 1000 per mille, when it is empty): above 1000 per mille the client is short. */
      debits: { client: number; perMille: number; shares: { provider: number; perMille: number }[] }[];
      /** A settler's extra credit on the first provider, per mille of the batch's debits (0: none): LinesMismatch. */
      bonusPerMille: number;
    }
  | { kind: "payDebt"; payer: number; pick: number; tamper: boolean; topUp: boolean }
  | { kind: "claim"; account: number; to: number | null };

const client = fc.constantFrom(...CLIENTS);
const provider = fc.constantFrom(...PROVIDERS);
const share = (max: number) => fc.integer({ min: 0, max });
const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), client, amount: fc.bigInt({ min: 1n, max: 10n ** 22n }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("request" as const), pick: fc.nat(), perMille: share(1100) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), client, pick: fc.nat(), anyone: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("holds" as const), entries: fc.array(fc.record({ client, perMille: share(1200) }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant("settle" as const),
    batchId: fc.bigInt({ min: 1n, max: 8n }),
    debits: fc.array(fc.record({ client, perMille: share(1300), shares: fc.array(fc.record({ provider, perMille: share(1000) }), { minLength: 1, maxLength: 2 }) }), { minLength: 1, maxLength: 4 }),
    bonusPerMille: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: share(300) }),
  }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("payDebt" as const), payer: fc.constantFrom(...EVERYONE), pick: fc.nat(), tamper: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), topUp: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("claim" as const), account: fc.constantFrom(FEE_RECIPIENT, ...PROVIDERS), to: fc.option(fc.constantFrom(...EVERYONE), { nil: null }) }) },
);

interface Model {
  balance: Map<number, bigint>;
  held: Map<number, bigint>;
  claimable: Map<number, bigint>;
  debt: Map<number, bigint>;
  /** Pending requests; `unlocked` once an `advance` came after the request. */
  requests: Map<number, { amount: bigint; unlocked: boolean }>;
  openDebts: Debt[];
  debtCount: bigint;
  settled: Set<bigint>;
}

const get = (m: Map<number, bigint>, k: number) => m.get(k) ?? 0n;
const add = (m: Map<number, bigint>, k: number, v: bigint) => m.set(k, get(m, k) + v);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const freeOf = (m: Model, c: number) => {
  const free = get(m.balance, c) - get(m.held, c) - get(m.debt, c);
  return free > 0n ? free : 0n;
};
const OGPU = 10n ** 18n;

/** Turns shares into amounts: requests of the balance, holds and debits of the balance, lines of each debit. */
function concretize(m: Model, i: Intent): Action {
  const of = (value: bigint, perMille: number) => (value * BigInt(perMille)) / 1000n;
  switch (i.kind) {
    case "deposit":
    case "advance":
    case "claim":
      return i;
    case "request": {
      const funded = CLIENTS.filter((c) => get(m.balance, c) > 0n);
      const c = (funded.length > 0 ? funded : CLIENTS)[i.pick % (funded.length || CLIENTS.length)];
      return { kind: "request", client: c, amount: of(get(m.balance, c), i.perMille) };
    }
    case "withdraw": {
      const waiting = [...m.requests.keys()];
      return { kind: "withdraw", client: i.anyone || waiting.length === 0 ? i.client : waiting[i.pick % waiting.length] };
    }
    case "holds":
      return { kind: "holds", entries: i.entries.map((e) => ({ client: e.client, amount: of(get(m.balance, e.client), e.perMille) })) };
    case "settle": {
      const providers: number[] = [];
      const credits: bigint[] = [];
      const lines: Line[] = [];
      const debits = i.debits.map((d, k) => {
        const balance = get(m.balance, d.client);
        const amount = balance > 0n ? of(balance, d.perMille) : of(OGPU, Math.max(0, d.perMille - 1000));
        for (const s of d.shares) {
          let p = providers.indexOf(s.provider);
          if (p < 0) p = providers.push(s.provider) - 1;
          const credit = of(amount, s.perMille) / BigInt(d.shares.length);
          credits[p] = (credits[p] ?? 0n) + credit;
          lines.push({ client: k, provider: p, amount: credit });
        }
        return { client: d.client, amount };
      });
      credits[0] += of(debits.reduce((t, d) => t + d.amount, 0n), i.bonusPerMille);
      return { kind: "settle", batchId: i.batchId, debits, providers, credits, lines };
    }
    case "payDebt": {
      const bogus: Debt = { id: m.debtCount + 1n, batchId: 1n, client: CLIENTS[0], amount: 1n, providers: [PROVIDERS[0]], credits: [1n] };
      const debt = m.openDebts.length > 0 ? m.openDebts[i.pick % m.openDebts.length] : bogus;
      const missing = debt.amount - (get(m.balance, debt.client) - get(m.held, debt.client));
      const topUp = i.topUp && debt !== bogus && missing > 0n ? missing : 0n;
      return { kind: "payDebt", payer: i.payer, debt: i.tamper ? { ...debt, amount: debt.amount + 1n } : debt, topUp };
    }
  }
}

/** Applies `a` to the model; returns the custom error the contract must revert with, or null. */
function applyToModel(m: Model, a: Action): string | null {
  switch (a.kind) {
    case "deposit":
      add(m.balance, a.client, a.amount);
      return null;
    case "request":
      if (a.amount > get(m.balance, a.client)) return "InsufficientBalance";
      if (a.amount === 0n) m.requests.delete(a.client);
      else m.requests.set(a.client, { amount: a.amount, unlocked: false });
      return null;
    case "withdraw": {
      const r = m.requests.get(a.client);
      if (!r) return "NothingToWithdraw";
      if (!r.unlocked) return "WithdrawalLocked";
      const free = freeOf(m, a.client);
      if (free === 0n) return "InsufficientFreeBalance";
      add(m.balance, a.client, -min(r.amount, free));
      m.requests.delete(a.client);
      return null;
    }
    case "advance":
      for (const r of m.requests.values()) r.unlocked = true;
      return null;
    case "holds":
      for (const e of a.entries) m.held.set(e.client, min(e.amount, get(m.balance, e.client)));
      return null;
    case "settle":
      return settleModel(m, a);
    case "payDebt": {
      add(m.balance, a.debt.client, a.topUp);
      const open = m.openDebts.find((d) => d.id === a.debt.id);
      if (!open || JSON.stringify(open, big) !== JSON.stringify(a.debt, big)) return "UnknownDebt";
      const c = open.client;
      if (open.amount > get(m.balance, c) - get(m.held, c)) return "InsufficientFreeBalance";
      m.openDebts = m.openDebts.filter((d) => d !== open);
      add(m.balance, c, -open.amount);
      add(m.debt, c, -open.amount);
      open.providers.forEach((p, k) => add(m.claimable, p, open.credits[k]));
      add(m.claimable, FEE_RECIPIENT, open.amount - open.credits.reduce((t, x) => t + x, 0n));
      return null;
    }
    case "claim":
      if (get(m.claimable, a.account) === 0n) return "NothingToClaim";
      m.claimable.set(a.account, 0n);
      return null;
  }
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

/** The contract's settle: a short client's lines move from the batch into a new debt; the rest settles. */
function settleModel(m: Model, a: Extract<Action, { kind: "settle" }>): string | null {
  if (m.settled.has(a.batchId)) return "BatchAlreadySettled";
  // each provider's credit must be the sum of its lines, and no client's lines may exceed its debit
  if (a.providers.some((_, p) => a.lines.filter((l) => l.provider === p).reduce((t, l) => t + l.amount, 0n) !== a.credits[p])) return "LinesMismatch";
  if (a.debits.some((d, c) => a.lines.filter((l) => l.client === c).reduce((t, l) => t + l.amount, 0n) > d.amount)) return "LinesMismatch";
  const balance = new Map(m.balance);
  const held = new Map(m.held);
  const debt = new Map(m.debt);
  const deferred = a.providers.map(() => 0n);
  const debts: Debt[] = [];
  let debited = 0n;
  a.debits.forEach((d, k) => {
    if (d.amount > get(balance, d.client)) {
      const mine = a.lines.filter((l) => l.client === k);
      for (const l of mine) deferred[l.provider] += l.amount;
      debts.push({ id: m.debtCount + BigInt(debts.length) + 1n, batchId: a.batchId, client: d.client, amount: d.amount, providers: mine.map((l) => a.providers[l.provider]), credits: mine.map((l) => l.amount) });
      add(debt, d.client, d.amount);
      return;
    }
    add(balance, d.client, -d.amount);
    held.set(d.client, get(held, d.client) > d.amount ? get(held, d.client) - d.amount : 0n);
    debited += d.amount;
  });
  const credited = a.credits.reduce((t, c, p) => t + c - deferred[p], 0n);
  Object.assign(m, { balance, held, debt, debtCount: m.debtCount + BigInt(debts.length), openDebts: [...m.openDebts, ...debts] });
  a.providers.forEach((p, k) => add(m.claimable, p, a.credits[k] - deferred[k]));
  add(m.claimable, FEE_RECIPIENT, debited - credited);
  m.settled.add(a.batchId);
  return null;
}

let f: ContractsFixture;
let base: string;

beforeAll(async () => {
  f = await startContractsFixture();
  for (const c of CLIENTS) await mined(f.token(c).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(0).setWithdrawDelay(DELAY));
  base = await f.chain.snapshot();
});
afterAll(async () => {
  await f?.stop();
});

const addr = (i: number) => f.signer(i).address;

async function send(a: Action): Promise<unknown> {
  switch (a.kind) {
    case "deposit":
      return mined(f.escrow(a.client).deposit(a.amount));
    case "request":
      return mined(f.escrow(a.client).requestWithdraw(a.amount));
    case "withdraw":
      return withdrawChecked(a.client);
    case "advance":
      return f.chain.increaseTime(DELAY);
    case "holds":
      return mined(f.escrow(0).setHolds(a.entries.map((e) => addr(e.client)), a.entries.map((e) => e.amount)));
    case "settle":
      return mined(
        f.escrow(0).settle({
          batchId: a.batchId,
          merkleRoot: id(`batch-${a.batchId}`),
          jobCount: a.lines.length,
          clients: a.debits.map((d) => addr(d.client)),
          debits: a.debits.map((d) => d.amount),
          providers: a.providers.map(addr),
          credits: a.credits,
          lines: a.lines.map((l) => encodeLine(l.client, l.provider, l.amount)),
          allowanceBits: [],
          nonceMarks: [],
        }),
      );
    case "payDebt": {
      const d = a.debt;
      if (a.topUp > 0n) await mined(f.escrow(d.client).deposit(a.topUp));
      return mined(f.escrow(a.payer).payDebt(d.id, d.batchId, addr(d.client), d.amount, d.providers.map(addr), d.credits));
    }
    case "claim":
      return mined(a.to === null ? f.escrow(a.account).claim() : f.escrow(a.account).claimTo(addr(a.to)));
  }
}

/** A withdrawal, checked against the chain just before it: it takes at most balance - held - debt, and no hold. */
async function withdrawChecked(c: number): Promise<void> {
  const escrow = f.escrow();
  const read = async () => ({
    balance: (await escrow.balanceOf(addr(c))) as bigint,
    held: (await escrow.heldOf(addr(c))) as bigint,
    debt: (await escrow.debtOf(addr(c))) as bigint,
    wallet: (await f.token().balanceOf(addr(c))) as bigint,
  });
  const before = await read();
  try {
    await mined(f.escrow(c).withdraw());
  } finally {
    const after = await read();
    const taken = after.wallet - before.wallet;
    expect(before.balance - after.balance).toBe(taken);
    expect(taken <= before.balance - before.held - before.debt || taken === 0n).toBe(true);
    expect(after.held).toBe(before.held);
  }
}

async function checkAgainst(m: Model): Promise<void> {
  const escrow = f.escrow();
  const addresses = EVERYONE.map(addr);
  const many = (fn: string) => Promise.all(addresses.map((a) => escrow.getFunction(fn)(a) as Promise<unknown>));
  const [tokenBalance, balances, helds, claimables, debts, requests] = await Promise.all([
    f.token().balanceOf(f.deployment.escrow) as Promise<bigint>,
    many("balanceOf") as Promise<bigint[]>,
    many("heldOf") as Promise<bigint[]>,
    many("claimableOf") as Promise<bigint[]>,
    many("debtOf") as Promise<bigint[]>,
    many("withdrawalOf") as Promise<[bigint, bigint][]>,
  ]);
  const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
  expect(tokenBalance).toBe(sum(balances) + sum(claimables));
  expect(await escrow.debtCount()).toBe(m.debtCount);
  EVERYONE.forEach((who, k) => {
    expect(helds[k] <= balances[k]).toBe(true);
    expect([balances[k], helds[k], claimables[k], debts[k], requests[k][0]]).toEqual([
      get(m.balance, who),
      get(m.held, who),
      get(m.claimable, who),
      get(m.debt, who),
      m.requests.get(who)?.amount ?? 0n,
    ]);
  });
  for (const d of m.openDebts) expect(await escrow.isDebtOpen(d.id)).toBe(true);
}

test("escrow conserves tokens across random deposits, withdrawal requests, withdrawals, holds, short settlements, debt payments and claims", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(intent, { minLength: 30, maxLength: 30 }), async (intents) => {
      await f.chain.revert(base);
      base = await f.chain.snapshot();
      const model: Model = { balance: new Map(), held: new Map(), claimable: new Map(), debt: new Map(), requests: new Map(), openDebts: [], debtCount: 0n, settled: new Set() };
      for (const i of intents) {
        const a = concretize(model, i);
        const expected = applyToModel(model, a);
        const actual = await revertName(send(a));
        expect(actual).toBe(expected ?? "(no revert)");
        await checkAgainst(model);
      }
    }),
    { numRuns: 20 },
  );
}, 300_000);
