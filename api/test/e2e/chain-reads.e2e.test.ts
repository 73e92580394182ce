import { step } from "../../../indexer";
import { FakeChain } from "../../../indexer/testing";
import { PgChainStore } from "../../db/repositories/chain-store";
import { actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";

const CHAIN_ID = String(8_000_000 + (process.pid % 1000));
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CHAIN_ID });
});
afterAll(() => server.stop());

it("shows what the indexer mirrored: escrow from deposits, events naming an address, the indexer's progress", async () => {
  const client = await actor(server);
  const address = client.wallet.address.toLowerCase();
  const chain = new FakeChain(30, 5, [address]);
  const store = new PgChainStore(server.system.db, BigInt(CHAIN_ID));
  for (let i = 0; i < 10; i++) await step(chain, store, { startBlock: 0n, span: 10n, confirmations: 3n, keepBlocks: 8 });
  const deposited = chain.blocks.flatMap((b) => b.events).reduce((sum, e) => sum + BigInt(String(e.args.amount)), 0n);

  const me = await gql(server.url, op("Me"), {}, client.token);
  expect(me.errors).toBeUndefined();
  expect(me.data!.me.escrow).toEqual({ deposited: formatWei(deposited), held: "0", available: formatWei(deposited) });
  expect(me.data!.me.stake).toEqual({ staked: "0", unbonding: "0" });

  const account = await gql(server.url, op("Account"), { address: client.wallet.address });
  expect(account.data!.account).toMatchObject({ address: client.wallet.address, escrow: { available: formatWei(deposited) }, reputation: { score: 0.5 } });
  const stranger = await gql(server.url, op("Account"), { address: "0x000000000000000000000000000000000000dEaD" });
  expect(stranger.data!.account.escrow).toEqual({ deposited: "0", held: "0", available: "0" });
  expect(codeOf(await gql(server.url, op("Account"), { address: "not an address" }))).toBe("BAD_USER_INPUT");

  const events = await gql(server.url, op("ChainEvents"), { address: client.wallet.address, first: 2 });
  expect(events.errors).toBeUndefined();
  expect(events.data!.chainEvents.edges).toHaveLength(2);
  expect(events.data!.chainEvents.edges[0].node).toMatchObject({ name: "Deposited", args: { client: address } });
  expect(events.data!.chainEvents.pageInfo.hasNextPage).toBe(true);

  const status = await gql(server.url, op("IndexerStatus"));
  expect(status.data!.indexerStatus).toMatchObject({ chainId: CHAIN_ID, indexedBlock: "29" });
});

/** wei as the Decimal scalar writes it. */
function formatWei(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}
