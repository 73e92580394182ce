import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { MaxUint256, ZeroHash, id } from "ethers";
import { buildSettlement, settleTuple, type SettledJob } from "./batch";
import { depositFrom, mined, startContractsFixture, type ContractsFixture } from "./fixture";
import { orderDigest, orderDomain, signOrder, type Order } from "./orders";

/**
 * The watchtower as users run it (`npm run watchtower`, contracts/watchtower-main.ts), as a process against the
 * dev chain with a 600 s window: it challenges a thief's batch for the client whose signed orders it holds, leaves
 * the covered entry alone, and on a later run, after the deadline, resolves its challenge (the client is refunded).
 */
const WINDOW = 600;
const ONE = 10n ** 18n;
const run = promisify(execFile);
let f: ContractsFixture;
let dir: string;

beforeAll(async () => {
  f = await startContractsFixture({ challengeWindowSeconds: WINDOW });
  dir = mkdtempSync(path.join(tmpdir(), "gx-watchtower-"));
});
afterAll(async () => {
  await f?.stop();
});

async function watchtower(...args: string[]): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(process.execPath, ["-r", "@swc-node/register", "contracts/watchtower-main.ts", "--rpc", f.chain.url, "--chain-id", String(f.deployment.chainId), "--escrow", f.deployment.escrow, "--once", ...args], {
    env: { ...process.env, WATCHTOWER_PRIVATE_KEY: f.chain.accounts[8].privateKey },
    timeout: 60_000,
  });
  return stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("challenges what the client's signed orders do not cover, then resolves it after the deadline", async () => {
  const client = f.chain.accounts[1].address;
  await depositFrom(f, 1, 20n * ONE);
  await mined(f.token(0).approve(f.deployment.escrow, MaxUint256));
  await mined(f.escrow(0).postBond(f.admin.address, 10n * ONE));
  const domain = orderDomain(f.deployment.chainId, f.deployment.escrow);
  const order: Order = { jobId: id("job-1"), client, maxCost: 3n * ONE, market: id("m"), expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400), nonce: 0n };
  const signature = await signOrder(f.chain.signer(1), domain, order);
  const forged = { ...order, nonce: 1n, maxCost: 1000n * ONE };
  const orders = path.join(dir, "orders.json");
  const json = (o: Order, sig: string) => ({ order: { ...o, maxCost: String(o.maxCost), expiry: String(o.expiry), nonce: String(o.nonce) }, signature: sig });
  // the second entry claims a huge order the client never signed (signed by someone else): it is ignored
  writeFileSync(orders, JSON.stringify([json(order, signature), json(forged, await signOrder(f.chain.signer(2), domain, forged))]));

  const honest: SettledJob = { jobId: order.jobId, client, provider: f.chain.accounts[5].address, debitWei: 3n * ONE, creditWei: 27n * ONE / 10n, resultHash: id("r"), order: { nonce: 0n, hash: orderDigest(domain, order) } };
  await mined(f.escrow(0).settle(settleTuple(buildSettlement(1n, [honest]))));
  const theft: SettledJob = { jobId: id("steal"), client, provider: f.chain.accounts[9].address, debitWei: 17n * ONE, creditWei: 17n * ONE, resultHash: ZeroHash, order: { nonce: 1n, hash: orderDigest(domain, forged) } };
  await mined(f.escrow(0).settle(settleTuple(buildSettlement(2n, [theft]))));

  const first = await watchtower("--orders", orders);
  expect(first[0]).toMatchObject({ msg: "watchtower started", ignoredOrders: 1, clients: [client] });
  expect(first.slice(1).map((x) => [x.batchId, x.action])).toEqual([["1", "ok"], ["2", "challenged"]]);
  expect(await f.escrow().balanceOf(client)).toBe(0n);

  await f.chain.increaseTime(WINDOW + 1);
  await watchtower("--orders", orders);
  expect(await f.escrow().balanceOf(client)).toBe(17n * ONE);
  expect(await f.escrow().claimableOf(f.chain.accounts[8].address)).toBe(10n * ONE);
});
