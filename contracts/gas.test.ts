import { MaxUint256, getAddress, id, keccak256, parseUnits, toUtf8Bytes } from "ethers";
import { buildSettlement, settleTuple } from "./batch";
import type { SettledJob } from "./batch";
import { mined, startContractsFixture } from "./fixture";
import type { ContractsFixture } from "./fixture";

/**
 * Gas of Escrow.settle for batches of 1, 10 and 100 jobs (up to 10 distinct clients and 10 distinct
 * providers). "first credit" pays providers whose claimable balance is zero (a new storage slot each,
 * the expensive case); "repeat" settles the same clients and providers again. The 100-job batch must
 * stay within 5,000 gas per job in both cases. Also measured (reported, not bounded): a 100-job batch in which
 * one of the 10 clients is short (its line becomes a debt), paying that debt, and a two-step withdrawal.
 */
const MAX_GAS_PER_JOB_AT_100 = 5_000n;
const CLIENTS = 10;
/** A client with nothing on deposit: its lines in a batch become a debt. */
const BROKE = 11;

let f: ContractsFixture;

beforeAll(async () => {
  f = await startContractsFixture();
  for (let c = 1; c <= CLIENTS; c++) {
    await mined(f.token(c).approve(f.deployment.escrow, MaxUint256));
    await mined(f.escrow(c).deposit(parseUnits("100000", 18)));
  }
});
afterAll(async () => {
  await f?.stop();
});

function providerAddress(label: string): string {
  return getAddress(`0x${keccak256(toUtf8Bytes(label)).slice(26)}`);
}

function jobsFor(batch: number, count: number, providerSet: string): SettledJob[] {
  const parties = Math.min(count, 10);
  return Array.from({ length: count }, (_, k) => {
    const debitWei = parseUnits("0.01", 18) + BigInt(batch * 1_000 + k) * 1_234_567_891n;
    return {
      jobId: id(`job-${batch}-${k}`),
      client: f.signer(1 + (k % Math.min(parties, CLIENTS))).address,
      provider: providerAddress(`${providerSet}-${k % parties}`),
      debitWei,
      creditWei: (debitWei * 95n) / 100n,
      resultHash: id(`result-${batch}-${k}`),
    };
  });
}

async function settleGas(batch: number, jobs: SettledJob[]): Promise<bigint> {
  const s = buildSettlement(BigInt(batch), jobs);
  const receipt = await mined(f.escrow(0).settle(settleTuple(s)));
  return receipt.gasUsed;
}

test("settle gas per job at 1, 10 and 100 jobs", async () => {
  const rows: { jobs: number; parties: number; first: bigint; repeat: bigint }[] = [];
  let batch = 0;
  for (const count of [1, 10, 100]) {
    const providerSet = `providers-${count}`;
    const first = await settleGas(++batch, jobsFor(batch, count, providerSet));
    const repeat = await settleGas(++batch, jobsFor(batch, count, providerSet));
    rows.push({ jobs: count, parties: Math.min(count, 10), first, repeat });
  }
  const lines = [
    "| jobs | clients/providers | gas (first credit) | per job | gas (repeat) | per job |",
    "|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.jobs} | ${r.parties}/${r.parties} | ${r.first} | ${r.first / BigInt(r.jobs)} | ${r.repeat} | ${r.repeat / BigInt(r.jobs)} |`,
    ),
  ];
  process.stdout.write(`\nEscrow.settle gas\n${lines.join("\n")}\n`);
  const at100 = rows[2];
  expect(at100.first / 100n).toBeLessThanOrEqual(MAX_GAS_PER_JOB_AT_100);
  expect(at100.repeat / 100n).toBeLessThanOrEqual(MAX_GAS_PER_JOB_AT_100);
});

test("gas of a batch with a short client, of paying its debt, and of a two-step withdrawal", async () => {
  const jobs = jobsFor(50, 100, "providers-100").map((j, k) => (k % 10 === 0 ? { ...j, client: f.signer(BROKE).address } : j));
  const s = buildSettlement(50n, jobs);
  const receipt = await mined(f.escrow(0).settle(settleTuple(s)));
  const [recorded] = await f.escrow().queryFilter(f.escrow().filters.DebtRecorded(), receipt.blockNumber, receipt.blockNumber);
  const [debtId, batchId, client, amount, , providers, credits] = (recorded as unknown as { args: unknown[] }).args as [bigint, bigint, string, bigint, bigint, string[], bigint[]];
  await mined(f.token(BROKE).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(BROKE).deposit(amount));
  const paid = await mined(f.escrow(2).payDebt(debtId, batchId, client, amount, [...providers], [...credits]));
  const requested = await mined(f.escrow(1).requestWithdraw(parseUnits("1", 18)));
  await f.chain.increaseTime(Number(await f.escrow().withdrawDelay()));
  const withdrawn = await mined(f.escrow(1).withdraw());
  const rows = [
    `| settle, 100 jobs, the 10 of one client with nothing on deposit (its line a debt) | ${receipt.gasUsed} | ${receipt.gasUsed / 100n} per job |`,
    `| payDebt of that client (${providers.length} provider(s)) | ${paid.gasUsed} | - |`,
    `| requestWithdraw | ${requested.gasUsed} | - |`,
    `| withdraw | ${withdrawn.gasUsed} | - |`,
  ];
  process.stdout.write(`\nEscrow gas, other paths\n| call | gas | |\n|---|---:|---:|\n${rows.join("\n")}\n`);
  expect(await f.escrow().debtOf(client)).toBe(0n);
  expect(receipt.gasUsed / 100n).toBeLessThanOrEqual(MAX_GAS_PER_JOB_AT_100 * 2n);
});
