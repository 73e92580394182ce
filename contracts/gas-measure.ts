import { MaxUint256, getAddress, id, keccak256, parseUnits, toUtf8Bytes } from "ethers";
import { buildSettlement, settleTuple, signedJobOf, type SettledJob, type SettlementBatch } from "./batch";
import { mined, type ContractsFixture } from "./fixture";
import { orderDigest, orderDomain, signOrder, type Order } from "./orders";
import { readCommittedBatch } from "./watchtower";

/** Gas of settle per batch size and kind ("first": new provider buckets; "repeat": the same parties again). */
export interface SettleGasRow {
  kind: "orders" | "allowance";
  jobs: number;
  first: bigint;
  repeat: bigint;
}

export interface WindowedGas {
  settle: SettleGasRow[];
  /** An order entry of 10 jobs in a 100-job batch: its challenge, the answer with its 10 signed orders, and the
   *  resolution of an unanswered challenge. */
  challenge: bigint;
  answer: bigint;
  resolve: bigint;
}

const CLIENTS = 10;

function providerAddress(label: string): string {
  return getAddress(`0x${keccak256(toUtf8Bytes(label)).slice(26)}`);
}

/**
 * Measures, on an escrow deployed with a challenge window (`f`), settle with signed orders and with allowances at 1,
 * 10 and 100 jobs (10 clients, 10 providers), and a challenge, its answer and an unanswered challenge's resolution.
 * Clients 1-10 deposit and approve; account #0 settles and posts its bond. Used by contracts/gas-orders.test.ts (which
 * bounds the 100-job batch) and by `npm run bench` (bench/chain.ts).
 */
export async function measureWindowedGas(f: ContractsFixture): Promise<WindowedGas> {
  const domain = orderDomain(f.deployment.chainId, f.deployment.escrow);
  const until = BigInt((await f.chain.provider.getBlock("latest"))!.timestamp) + 86_400n * 30n;
  for (let c = 1; c <= CLIENTS; c++) {
    await mined(f.token(c).approve(f.deployment.escrow, MaxUint256));
    await mined(f.escrow(c).deposit(parseUnits("100000", 18)));
    await mined(f.escrow(c).approveSpending(parseUnits("50000", 18), until));
  }
  await mined(f.token(0).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(0).postBond(f.admin.address, parseUnits("1000", 18)));
  await mined(f.escrow(0).setMinBond(parseUnits("1000", 18)));

  const nextNonce = new Map<number, bigint>();
  const orders = new Map<string, { order: Order; client: number }>();
  let batchId = 0n;
  const jobsFor = (count: number, kind: SettleGasRow["kind"], providerSet: string): SettledJob[] => {
    const parties = Math.min(count, CLIENTS);
    return Array.from({ length: count }, (_, k) => {
      const c = 1 + (k % parties);
      const debitWei = parseUnits("0.01", 18) + BigInt(k) * 1_234_567_891n;
      const job = { jobId: id(`gas-${batchId + 1n}-${k}`), client: f.chain.accounts[c].address, provider: providerAddress(`${providerSet}-${k % parties}`), debitWei, creditWei: (debitWei * 95n) / 100n, resultHash: id(`result-${k}`) };
      if (kind === "allowance") return { ...job, allowance: true };
      const nonce = nextNonce.get(c) ?? 0n;
      nextNonce.set(c, nonce + 1n);
      const order: Order = { jobId: job.jobId, client: job.client, maxCost: debitWei, market: id("H100-80GB"), expiry: until, nonce };
      orders.set(job.jobId, { order, client: c });
      return { ...job, order: { nonce, hash: orderDigest(domain, order) } };
    });
  };
  const settle = async (jobs: SettledJob[]): Promise<{ s: SettlementBatch; gas: bigint; blockNumber: number }> => {
    const s = buildSettlement(++batchId, jobs);
    const r = await mined(f.escrow(0).settle(settleTuple(s)));
    return { s, gas: r.gasUsed, blockNumber: r.blockNumber };
  };

  const rows: SettleGasRow[] = [];
  for (const kind of ["orders", "allowance"] as const) {
    for (const count of [1, 10, 100]) {
      const set = `${kind}-${count}`;
      const first = await settle(jobsFor(count, kind, set));
      const repeat = await settle(jobsFor(count, kind, set));
      rows.push({ kind, jobs: count, first: first.gas, repeat: repeat.gas });
    }
  }

  // a 100-job order batch: challenge client entry 0 (10 jobs) and answer it; challenge entry 1 and leave it
  const { s, blockNumber } = await settle(jobsFor(100, "orders", "orders-100"));
  const [log] = await f.escrow().queryFilter(f.escrow().filters.BatchCommitted(s.batchId), blockNumber, blockNumber);
  const committed = await readCommittedBatch(f.escrow(), log);
  const challenge = await mined(f.escrow(0).challenge(committed.batch, committed.commitment, 0));
  const entry = s.leaves.filter((l) => l.client === s.clients[0]);
  const signed = [];
  for (const leaf of entry) {
    const { order, client } = orders.get(leaf.jobId)!;
    signed.push(signedJobOf(s, leaf, order, await signOrder(f.chain.signer(client), domain, order)));
  }
  signed.sort((a, b) => (a.order.nonce < b.order.nonce ? -1 : 1));
  const answer = await mined(f.escrow(0).answer(committed.batch, committed.commitment, 0, signed));
  await mined(f.escrow(0).challenge(committed.batch, committed.commitment, 1));
  await f.chain.increaseTime(Number(await f.escrow().challengeWindow()) + 1);
  const resolve = await mined(f.escrow(0).resolveChallenge(committed.batch, committed.commitment, 1));
  return { settle: rows, challenge: challenge.gasUsed, answer: answer.gasUsed, resolve: resolve.gasUsed };
}

/** The measurements as markdown table lines. */
export function windowedGasTable(g: WindowedGas): string[] {
  const per = (gas: bigint, jobs: number) => (gas / BigInt(jobs)).toString();
  return [
    "| settle with a challenge window | jobs | gas (first) | per job | gas (repeat) | per job |",
    "|---|---:|---:|---:|---:|---:|",
    ...g.settle.map((r) => `| ${r.kind === "orders" ? "signed orders (nonces marked)" : "allowance"} | ${r.jobs} | ${r.first} | ${per(r.first, r.jobs)} | ${r.repeat} | ${per(r.repeat, r.jobs)} |`),
    "",
    "| challenge of a 10-job order entry (100-job batch) | gas |",
    "|---|---:|",
    `| challenge | ${g.challenge} |`,
    `| answer with its 10 signed orders (rejects the challenge) | ${g.answer} |`,
    `| resolveChallenge of an unanswered one (refund, bond slashed) | ${g.resolve} |`,
  ];
}
