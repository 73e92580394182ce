import WebSocket from "ws";
import { actor, eventually, freshModel, onlineOffer } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, wsClient, type TestServer } from "../harness";

jest.setTimeout(60_000);

let server: TestServer;
beforeAll(async () => {
  // the slow subscriber asks for each delta's market 400 times over (aliases), so a few hundred deltas fill the
  // kernel's socket buffers and then ws's, in a few seconds
  server = await startTestServer({ WS_MAX_BUFFERED_BYTES: "16384", GRAPHQL_MAX_ALIASES: "1000", GRAPHQL_MAX_TOKENS: "20000", GRAPHQL_MAX_COST: "100000" });
});
afterAll(() => server.stop());

const subscribers = async () => Number(/gx_feed_subscribers\{feed="orderBookUpdates"\} (\d+)/.exec(await (await fetch(server.url.replace("/graphql", "/metrics"))).text())?.[1] ?? 0);

it("closes a subscriber that stops reading once its socket holds more than WS_MAX_BUFFERED_BYTES, with 1013, while the others keep every delta", async () => {
  const m = freshModel();
  const provider = await actor(server);
  const { offerId } = await onlineOffer(server, provider, m.gpu(1), "2", 1);

  // a raw graphql-transport-ws client that will stop reading its socket
  const slow = new WebSocket(server.wsUrl, "graphql-transport-ws");
  const closed = new Promise<number>((resolve) => slow.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    slow.on("open", () => slow.send(JSON.stringify({ type: "connection_init", payload: {} })));
    slow.on("message", (raw) => {
      if (String(raw).includes('"connection_ack"')) {
        const wide = Array.from({ length: 400 }, (_, i) => `m${i}: market`).join(" ");
        slow.send(JSON.stringify({ id: "s", type: "subscribe", payload: { query: `subscription Wide($market: ID!) { orderBookUpdates(market: $market) { sequence ${wide} } }`, variables: { market: m.market } } }));
        resolve();
      }
    });
  });
  const fast = wsClient(server.wsUrl);
  const seen: bigint[] = [];
  fast.subscribe(
    { query: op("OrderBookUpdates"), variables: { market: m.market } },
    { next: (v) => void seen.push(BigInt((v.data as { orderBookUpdates: { sequence: string } }).orderBookUpdates.sequence)), error: () => undefined, complete: () => undefined },
  );
  await eventually(async () => ((await subscribers()) === 2 ? true : undefined), 10_000, "two subscribers");

  (slow as unknown as { _socket: { pause(): void } })._socket.pause();
  // reprice until the server gives up on the slow one: the kernel's socket buffers fill first, then ws's
  let reprices = 0;
  while ((await subscribers()) === 2 && reprices < 3_000) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => gql(server.url, op("RepriceOffer"), { id: offerId, pricePerGpuHour: String(3 + ((reprices + i) % 2)) }, provider.token)));
    reprices += 20;
  }
  expect(await subscribers()).toBe(1);
  // the fast subscriber got every delta of the run, in order and without a gap
  const { sequence } = (await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook as { sequence: string };
  await eventually(async () => (seen.at(-1) === BigInt(sequence) ? true : undefined), 20_000, "the fast subscriber to reach the book's sequence");
  expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0] + BigInt(i)));
  process.stderr.write(`slow consumer closed after ${reprices} reprices (${seen.length} deltas)\n`);

  (slow as unknown as { _socket: { resume(): void } })._socket.resume();
  expect(await closed).toBe(1013);
  await fast.dispose();
});
