import fc from "fast-check";
import { MaxUint256, id } from "ethers";
import { mined, revertName, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

/**
 * Random sequences of deposits, holds, settlements, claims and withdrawals against Escrow and a model
 * of it. After every step: the escrow's token balance == sum of balances + sum of claimables, every
 * held <= balance, and the chain agrees with the model (including which steps revert, and why).
 */
const CLIENTS = [1, 2, 3, 4];
const PROVIDERS = [5, 6, 7];
const FEE_RECIPIENT = 0;
const EVERYONE = [FEE_RECIPIENT, ...CLIENTS, ...PROVIDERS];

type Action =
  | { kind: "deposit"; client: number; amount: bigint }
  | { kind: "withdraw"; client: number; amount: bigint }
  | { kind: "holds"; entries: { client: number; amount: bigint }[] }
  | {
      kind: "settle";
      batchId: bigint;
      debits: { client: number; amount: bigint }[];
      credits: { provider: number; amount: bigint }[];
    }
  | { kind: "claim"; account: number; to: number | null };

/** What a step means to do; amounts other than deposits are per-mille shares of the model's state then. */
type Intent =
  | { kind: "deposit"; client: number; amount: bigint }
  | { kind: "withdraw"; client: number; perMille: number }
  | { kind: "holds"; entries: { client: number; perMille: number }[] }
  | {
      kind: "settle";
      batchId: bigint;
      debits: { client: number; perMille: number }[];
      credits: { provider: number; perMille: number }[];
    }
  | { kind: "claim"; account: number; to: number | null };

const client = fc.constantFrom(...CLIENTS);
const provider = fc.constantFrom(...PROVIDERS);
const share = (max: number) => fc.integer({ min: 0, max });
const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), client, amount: fc.bigInt({ min: 1n, max: 10n ** 22n }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), client, perMille: share(1100) }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant("holds" as const),
    entries: fc.array(fc.record({ client, perMille: share(1200) }), { minLength: 1, maxLength: 4 }),
  }) },
  { weight: 3, arbitrary: fc.record({
    kind: fc.constant("settle" as const),
    batchId: fc.bigInt({ min: 1n, max: 6n }),
    debits: fc.array(fc.record({ client, perMille: share(700) }), { minLength: 1, maxLength: 4 }),
    credits: fc.array(fc.record({ provider, perMille: share(1300) }), { minLength: 1, maxLength: 3 }),
  }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant("claim" as const),
    account: fc.constantFrom(FEE_RECIPIENT, ...PROVIDERS),
    to: fc.option(fc.constantFrom(...EVERYONE), { nil: null }),
  }) },
);

/** Turns shares into amounts: withdrawals of free balance, holds and debits of balance, credits of the debits. */
function concretize(m: Model, i: Intent): Action {
  const of = (value: bigint, perMille: number) => (value * BigInt(perMille)) / 1000n;
  switch (i.kind) {
    case "deposit":
    case "claim":
      return i;
    case "withdraw": {
      const free = get(m.balance, i.client) - get(m.held, i.client);
      const amount = of(free, i.perMille);
      return { kind: "withdraw", client: i.client, amount: amount === 0n ? 1n : amount };
    }
    case "holds":
      return { kind: "holds", entries: i.entries.map((e) => ({ client: e.client, amount: of(get(m.balance, e.client), e.perMille) })) };
    case "settle": {
      const debits = i.debits.map((d) => ({ client: d.client, amount: of(get(m.balance, d.client), d.perMille) }));
      const total = debits.reduce((s, d) => s + d.amount, 0n);
      const n = BigInt(i.credits.length);
      const credits = i.credits.map((c) => ({ provider: c.provider, amount: of(total, c.perMille) / n }));
      return { kind: "settle", batchId: i.batchId, debits, credits };
    }
  }
}

interface Model {
  balance: Map<number, bigint>;
  held: Map<number, bigint>;
  claimable: Map<number, bigint>;
  settled: Set<bigint>;
}

const get = (m: Map<number, bigint>, k: number) => m.get(k) ?? 0n;
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** Applies `a` to the model; returns the custom error the contract must revert with, or null. */
function applyToModel(m: Model, a: Action): string | null {
  switch (a.kind) {
    case "deposit":
      m.balance.set(a.client, get(m.balance, a.client) + a.amount);
      return null;
    case "withdraw": {
      if (a.amount > get(m.balance, a.client) - get(m.held, a.client)) return "InsufficientFreeBalance";
      m.balance.set(a.client, get(m.balance, a.client) - a.amount);
      return null;
    }
    case "holds":
      for (const e of a.entries) m.held.set(e.client, min(e.amount, get(m.balance, e.client)));
      return null;
    case "settle": {
      if (m.settled.has(a.batchId)) return "BatchAlreadySettled";
      const balance = new Map(m.balance);
      const held = new Map(m.held);
      let debited = 0n;
      for (const d of a.debits) {
        if (d.amount > get(balance, d.client)) return "InsufficientBalance";
        balance.set(d.client, get(balance, d.client) - d.amount);
        held.set(d.client, get(held, d.client) > d.amount ? get(held, d.client) - d.amount : 0n);
        debited += d.amount;
      }
      const credited = a.credits.reduce((s, c) => s + c.amount, 0n);
      if (credited > debited) return "CreditsExceedDebits";
      m.balance = balance;
      m.held = held;
      for (const c of a.credits) m.claimable.set(c.provider, get(m.claimable, c.provider) + c.amount);
      m.claimable.set(FEE_RECIPIENT, get(m.claimable, FEE_RECIPIENT) + debited - credited);
      m.settled.add(a.batchId);
      return null;
    }
    case "claim": {
      if (get(m.claimable, a.account) === 0n) return "NothingToClaim";
      m.claimable.set(a.account, 0n);
      return null;
    }
  }
}

let f: ContractsFixture;
let base: string;

beforeAll(async () => {
  f = await startContractsFixture();
  for (const c of CLIENTS) await mined(f.token(c).approve(f.deployment.escrow, MaxUint256));
  base = await f.chain.snapshot();
});
afterAll(async () => {
  await f?.stop();
});

function send(a: Action): Promise<unknown> {
  const addr = (i: number) => f.signer(i).address;
  switch (a.kind) {
    case "deposit":
      return mined(f.escrow(a.client).deposit(a.amount));
    case "withdraw":
      return mined(f.escrow(a.client).withdraw(a.amount));
    case "holds":
      return mined(f.escrow(0).setHolds(a.entries.map((e) => addr(e.client)), a.entries.map((e) => e.amount)));
    case "settle":
      return mined(
        f.escrow(0).settle(
          a.batchId,
          id(`batch-${a.batchId}`),
          a.debits.length,
          a.debits.map((d) => addr(d.client)),
          a.debits.map((d) => d.amount),
          a.credits.map((c) => addr(c.provider)),
          a.credits.map((c) => c.amount),
        ),
      );
    case "claim":
      return mined(a.to === null ? f.escrow(a.account).claim() : f.escrow(a.account).claimTo(addr(a.to)));
  }
}

async function checkAgainst(m: Model): Promise<void> {
  const escrow = f.escrow();
  const addresses = EVERYONE.map((i) => f.signer(i).address);
  const [tokenBalance, balances, helds, claimables] = await Promise.all([
    f.token().balanceOf(f.deployment.escrow) as Promise<bigint>,
    Promise.all(addresses.map((a) => escrow.balanceOf(a) as Promise<bigint>)),
    Promise.all(addresses.map((a) => escrow.heldOf(a) as Promise<bigint>)),
    Promise.all(addresses.map((a) => escrow.claimableOf(a) as Promise<bigint>)),
  ]);
  const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
  expect(tokenBalance).toBe(sum(balances) + sum(claimables));
  EVERYONE.forEach((who, k) => {
    expect(helds[k] <= balances[k]).toBe(true);
    expect([balances[k], helds[k], claimables[k]]).toEqual([get(m.balance, who), get(m.held, who), get(m.claimable, who)]);
  });
}

test("escrow conserves tokens across random deposits, holds, settlements, claims and withdrawals", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(intent, { minLength: 15, maxLength: 15 }), async (intents) => {
      await f.chain.revert(base);
      base = await f.chain.snapshot();
      const model: Model = { balance: new Map(), held: new Map(), claimable: new Map(), settled: new Set() };
      for (const i of intents) {
        const a = concretize(model, i);
        const expected = applyToModel(model, a);
        const actual = await revertName(send(a));
        expect(actual).toBe(expected ?? "(no revert)");
        await checkAgainst(model);
      }
    }),
    { numRuns: 30 },
  );
}, 180_000);
