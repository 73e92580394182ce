import { JsonRpcProvider, Wallet } from "ethers";
import { DEV_FUNDING_WEI, DEV_TREASURY_DEPOSIT_WEI, DEV_TREASURY_INDEX, deployDevContracts, depositDevTreasury, startDevChain } from "./dev-chain";
import type { DevChain } from "./dev-chain";
import { escrowAt, nextNonce, tokenAt } from "./index";

let chain: DevChain;

beforeAll(async () => {
  chain = await startDevChain({ port: 0, chainId: 1337, accounts: 21 });
});
afterAll(async () => {
  await chain?.stop();
});

test("serves JSON-RPC on 127.0.0.1 with the mnemonic's accounts", async () => {
  expect(chain.url).toBe(`http://127.0.0.1:${chain.port}`);
  const other = new JsonRpcProvider(chain.url, undefined, { staticNetwork: false });
  expect((await other.getNetwork()).chainId).toBe(1337n);
  other.destroy();
  expect(chain.accounts).toHaveLength(21);
  expect(chain.accounts[0].address).toBe("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  expect(await chain.provider.send("eth_accounts", [])).toHaveLength(21);
  expect(await chain.provider.getBalance(chain.accounts[20].address)).toBe(10_000n * 10n ** 18n);
});

test("deployDevContracts deploys and funds the first 20 accounts", async () => {
  const d = await deployDevContracts(chain);
  expect([d.token, d.escrow, d.staking, d.deploymentBlock]).toEqual([
    "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    1,
  ]);
  expect(d.chainId).toBe(1337n);
  expect(d.tokenDeployed).toBe(true);
  const token = tokenAt(d.token, chain.provider);
  expect(await token.symbol()).toBe("OGPU");
  expect(await token.name()).toBe("OpenGPU Token");
  expect(await token.decimals()).toBe(18n);
  expect(await token.balanceOf(chain.accounts[19].address)).toBe(DEV_FUNDING_WEI);
  expect(await token.balanceOf(chain.accounts[20].address)).toBe(0n);
  for (const address of [d.token, d.escrow, d.staking]) expect(await chain.provider.getCode(address)).not.toBe("0x");
});

test("depositDevTreasury puts account #19's treasury in escrow", async () => {
  const d = await deployDevContracts(chain);
  expect(await depositDevTreasury(chain, d)).toBe(chain.accounts[DEV_TREASURY_INDEX].address);
  const escrow = escrowAt(d.escrow, chain.provider);
  expect(await escrow.balanceOf(chain.accounts[DEV_TREASURY_INDEX].address)).toBe(DEV_TREASURY_DEPOSIT_WEI);
  expect(await tokenAt(d.token, chain.provider).balanceOf(chain.accounts[DEV_TREASURY_INDEX].address)).toBe(DEV_FUNDING_WEI - DEV_TREASURY_DEPOSIT_WEI);
});

test("snapshot, revert (consuming the snapshot), mine, increaseTime", async () => {
  const start = await chain.provider.getBlockNumber();
  const id = await chain.snapshot();
  await chain.mine(5);
  expect(await chain.provider.getBlockNumber()).toBe(start + 5);
  expect(await chain.revert(id)).toBe(true);
  expect(await chain.provider.getBlockNumber()).toBe(start);
  expect(await chain.revert(id)).toBe(false);
  const before = (await chain.provider.getBlock("latest"))?.timestamp ?? 0;
  await chain.increaseTime(3600);
  const after = (await chain.provider.getBlock("latest"))?.timestamp ?? 0;
  expect(after - before).toBeGreaterThanOrEqual(3600);
});

test("nextNonce: back-to-back transactions through a provider that caches calls each get their own nonce", async () => {
  // ethers caches a repeated call for 250 ms by default (the dev chain's own provider turns that off); a minute here,
  // so the test does not depend on how fast this machine is
  const cached = new JsonRpcProvider(chain.url, 1337, { staticNetwork: true, cacheTimeout: 60_000 });
  const wallet = new Wallet(chain.accounts[20].privateKey, cached);
  const send = async (nonce: number) => (await wallet.sendTransaction({ to: chain.accounts[1].address, value: 1n, nonce })).wait();
  // what the settler did before: the second count comes from the cache, so its transaction reuses the first's nonce
  await send(await cached.getTransactionCount(wallet.address, "latest"));
  await expect(send(await cached.getTransactionCount(wallet.address, "latest"))).rejects.toThrow(/nonce/i);
  for (let i = 0; i < 3; i++) expect((await send(await nextNonce(cached, wallet.address)))?.status).toBe(1);
  cached.destroy();
});
