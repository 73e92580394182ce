import { Wallet, parseUnits } from "ethers";
import { escrowAt, tokenAt } from "../../../contracts";
import { eventually } from "../builders";
import { op } from "../contract";
import { freePort, gql, signIn, startTestServer, type TestServer } from "../harness";

jest.setTimeout(120_000);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CHAIN_PORT: String(await freePort()), INDEXER_POLL_MS: "100", CHAIN_CONFIRMATIONS: "0" }, { api: true, worker: true, indexer: true });
});
afterAll(() => server.stop());

const OGPU = 10n ** 18n;

async function escrowShown(token: string) {
  const r = await gql(server.url, op("Me"), {}, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.me.escrow as { deposited: string; held: string; available: string };
}

it("mirrors deposits and withdrawals made on the dev chain into the escrow submitJob holds from, and undoes a deposit that a reorg removed", async () => {
  const chain = server.system.devChain!;
  expect(chain).toBeDefined();
  const status = await gql(server.url, op("IndexerStatus"));
  const contracts = Object.fromEntries(status.data!.indexerStatus.contracts.map((c: { name: string; address: string }) => [c.name, c.address]));
  const wallet = new Wallet(chain.accounts[5].privateKey, chain.provider);
  const { token } = await signIn(server.url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const ogpu = tokenAt(contracts.token, wallet);
  const escrow = escrowAt(contracts.escrow, wallet);
  const send = async (call: Promise<{ wait: () => Promise<unknown> }>) => (await call).wait();
  const nonce = () => chain.provider.getTransactionCount(wallet.address, "latest");

  await send(ogpu.approve(contracts.escrow, parseUnits("1000", 18), { nonce: await nonce() }));
  await send(escrow.deposit(parseUnits("100", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).available === "100" ? true : undefined), 20_000, "the deposit mirrored");
  await send(escrow.withdraw(parseUnits("30", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).deposited === "70" ? true : undefined), 20_000, "the withdrawal mirrored");
  expect(BigInt(await escrow.balanceOf(wallet.address))).toBe(70n * OGPU);

  // a deposit in blocks that a reorg replaces is undone
  const snapshot = await chain.snapshot();
  await send(escrow.deposit(parseUnits("50", 18), { nonce: await nonce() }));
  await eventually(async () => ((await escrowShown(token)).deposited === "120" ? true : undefined), 20_000, "the second deposit mirrored");
  await chain.revert(snapshot);
  await chain.mine(3);
  await eventually(async () => ((await escrowShown(token)).deposited === "70" ? true : undefined), 20_000, "the reorged deposit undone");
  const events = await gql(server.url, op("ChainEvents"), { address: wallet.address, first: 20 });
  const deposits = events.data!.chainEvents.edges.filter((e: { node: { name: string } }) => e.node.name === "Deposited");
  expect(deposits).toHaveLength(1);

  // the mirrored escrow is what submitJob holds from
  const job = await gql(
    server.url,
    op("SubmitJob"),
    { input: { kind: "OTHER", command: ["true"], requirements: { gpuCount: 1, minVramGb: 1, maxPricePerGpuHour: "60", maxDurationSeconds: 3600 } } },
    token,
  );
  expect(job.errors).toBeUndefined();
  expect(await escrowShown(token)).toEqual({ deposited: "70", held: "60", available: "10" });
  const tooBig = await gql(
    server.url,
    op("SubmitJob"),
    { input: { kind: "OTHER", command: ["true"], requirements: { gpuCount: 1, minVramGb: 1, maxPricePerGpuHour: "11", maxDurationSeconds: 3600 } } },
    token,
  );
  expect(tooBig.errors?.[0].extensions?.code).toBe("INSUFFICIENT_FUNDS");
});
