import { randomBytes } from "node:crypto";
import { actor, eventually, freshModel, jobInput, onlineOffer } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { gql, startTestServer, wsClient, type TestServer } from "../harness";

jest.setTimeout(60_000);

interface Level {
  price: string;
  gpus: number;
  orders: number;
}
interface Book {
  sequence: string;
  asks: Level[];
  bids: Level[];
}

let a: TestServer;
let b: TestServer;
let worker: TestServer;

beforeAll(async () => {
  // a database of its own: another file's resting bid in a shared one would show in this file's books and tickers
  const shared = { QUEUE_PREFIX: `gxf${randomBytes(3).toString("hex")}`, JWT_SECRET: randomBytes(32).toString("hex"), DATABASE_URL: await privateDatabaseUrl("feeds") };
  a = await startTestServer(shared, { api: true, worker: false });
  b = await startTestServer(shared, { api: true, worker: false });
  worker = await startTestServer(shared, { api: false, worker: true });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), worker.stop()]);
});
// a test that fails must not leave its subscriptions live for the next one, which counts subscribers
const opened: { dispose: () => unknown }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.dispose()));
  await eventually(async () => (Object.values(b.system.app!.subscribers()).every((n) => n === 0) ? true : undefined), 10_000, "no subscriber left on B");
});

function apply(book: Book, d: { sequence: string; side: "ASK" | "BID"; price: string; gpus: number; orders: number }): Book {
  const side = d.side === "ASK" ? "asks" : "bids";
  const levels = book[side].filter((l) => l.price !== d.price);
  if (d.gpus > 0) levels.push({ price: d.price, gpus: d.gpus, orders: d.orders });
  levels.sort((x, y) => (Number(x.price) - Number(y.price)) * (side === "asks" ? 1 : -1));
  return { ...book, sequence: d.sequence, [side]: levels };
}

it("a subscriber on instance B receives, in order and without gaps, the deltas of offers posted and jobs matched through instance A, and its book equals the snapshot", async () => {
  const m = freshModel();
  const provider = await actor(a);
  await onlineOffer(a, provider, m.gpu(8), "2.5", 2);
  const book = async (server: TestServer) => (await gql(server.url, op("OrderBook"), { market: m.market, depth: 500 })).data!.orderBook as Book;

  const deltas: { sequence: string; side: "ASK" | "BID"; price: string; gpus: number; orders: number }[] = [];
  const trades: { price: string; gpus: number }[] = [];
  const tickers: { bestAsk: string | null; bestBid: string | null; lastPrice: string | null; volume24h: number }[] = [];
  const ws = wsClient(b.wsUrl);
  opened.push(ws);
  ws.subscribe({ query: op("OrderBookUpdates"), variables: { market: m.market } }, { next: (v) => deltas.push((v.data as { orderBookUpdates: (typeof deltas)[number] }).orderBookUpdates), error: () => undefined, complete: () => undefined });
  ws.subscribe({ query: op("TradeExecuted"), variables: { market: m.market } }, { next: (v) => trades.push((v.data as { tradeExecuted: (typeof trades)[number] }).tradeExecuted), error: () => undefined, complete: () => undefined });
  ws.subscribe({ query: op("MarketTicker"), variables: { market: m.market } }, { next: (v) => tickers.push((v.data as { marketTicker: (typeof tickers)[number] }).marketTicker), error: () => undefined, complete: () => undefined });
  // live on B before anything changes (on a busy machine a fixed pause was not always enough)
  await eventually(async () => {
    const live = b.system.app!.subscribers();
    return live.orderBookUpdates === 1 && live.tradeExecuted === 1 && live.marketTicker === 1 ? true : undefined;
  }, 10_000, "the three subscriptions live on B");
  await new Promise((r) => setTimeout(r, 300));
  const start = await book(b);

  // through A: more offers, a reprice, jobs matched by the worker, a resting bid, a cancel
  const second = await onlineOffer(a, provider, m.gpu(8), "2.2", 3);
  const client = await actor(a, 1000n);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await gql(a.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "3" }) }, client.token)).data!.submitJob.id);
  const resting = (await gql(a.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "1" }) }, client.token)).data!.submitJob.id;
  await gql(a.url, op("RepriceOffer"), { id: second.offerId, pricePerGpuHour: "2.3" }, provider.token);
  await eventually(async () => {
    const rows = await a.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1) AND status = 'MATCHED'`, [ids]);
    const [r] = await a.system.db.query(`SELECT resting FROM jobs WHERE id = $1`, [resting]);
    return rows[0].n === 3 && r.resting ? true : undefined;
  }, 20_000, "three jobs matched and one resting");
  await gql(a.url, op("CancelJob"), { id: resting }, client.token);

  const end = await eventually(async () => {
    const now = await book(a);
    return deltas.length > 0 && deltas.at(-1)!.sequence === now.sequence ? now : undefined;
  }, 20_000, "B to receive every delta");
  const sequences = deltas.map((d) => BigInt(d.sequence)).filter((s) => s > BigInt(start.sequence));
  expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => BigInt(start.sequence) + 1n + BigInt(i)));
  let rebuilt = start;
  for (const d of deltas) if (BigInt(d.sequence) > BigInt(rebuilt.sequence)) rebuilt = apply(rebuilt, d);
  const sides = (x: Book) => ({ sequence: x.sequence, asks: x.asks, bids: x.bids });
  expect(sides(rebuilt)).toEqual(sides(end));
  expect(await book(b)).toEqual(end);
  expect(trades).toHaveLength(3);
  const market = (await gql(b.url, op("Markets"))).data!.markets.find((x: { id: string }) => x.id === m.market);
  const last = await eventually(async () => {
    const t = tickers.at(-1);
    // every field: a tick sent between the resting bid and its cancel matches the others but still shows the bid
    return t && t.lastPrice === market.lastPrice && t.bestAsk === market.bestAsk && t.bestBid === market.bestBid && t.volume24h === market.volume24h ? t : undefined;
  }, 10_000, "the ticker to catch up");
  expect(last).toMatchObject({ bestAsk: market.bestAsk, bestBid: market.bestBid, lastPrice: market.lastPrice, volume24h: 3 });
  expect(tickers[0]).toMatchObject({ lastPrice: null, volume24h: 0 });
  ws.dispose();
});

it("subscribers of one feed on an instance all get the same deltas (one shared execution); one leaving ends nothing for the others; /metrics counts them", async () => {
  const m = freshModel();
  const provider = await actor(a);
  const clients = Array.from({ length: 5 }, () => wsClient(b.wsUrl));
  opened.push(...clients);
  const got: string[][] = clients.map(() => []);
  const stops = clients.map((c, i) =>
    c.subscribe(
      { query: op("OrderBookUpdates"), variables: { market: m.market } },
      { next: (v) => got[i].push((v.data as { orderBookUpdates: { sequence: string } }).orderBookUpdates.sequence), error: () => undefined, complete: () => undefined },
    ),
  );
  const metric = async () => /gx_feed_subscribers\{feed="orderBookUpdates"\} (\d+)/.exec(await (await fetch(b.url.replace("/graphql", "/metrics"))).text())?.[1];
  await eventually(async () => ((await metric()) === "5" ? true : undefined), 10_000, "five orderBookUpdates subscribers on B");
  const offer = await onlineOffer(a, provider, m.gpu(8), "2.5", 2);
  await eventually(async () => (got.every((g) => g.length > 0) ? true : undefined), 10_000, "every subscriber to get the first delta");
  stops[0]();
  await eventually(async () => ((await metric()) === "4" ? true : undefined), 10_000, "one subscriber gone");
  const seen = got[1].length;
  await gql(a.url, op("RepriceOffer"), { id: offer.offerId, pricePerGpuHour: "2.6" }, provider.token);
  await eventually(async () => (got.slice(1).every((g) => g.length >= seen + 2) ? true : undefined), 10_000, "the others to get the reprice's two deltas");
  for (const g of got.slice(2)) expect(g).toEqual(got[1]);
  expect(got[0]).toEqual(got[1].slice(0, got[0].length));
  expect(got[0].length).toBeLessThan(got[1].length);
  // the ticker is shared too: a subscriber joining a running ticker gets a fresh tick (its first), with no market
  // change, and the subscribers already there receive that tick as well
  const ticks: { bestAsk: string | null }[][] = [[], []];
  const watch = (c: (typeof clients)[number], into: { bestAsk: string | null }[]) =>
    c.subscribe({ query: op("MarketTicker"), variables: { market: m.market } }, { next: (v) => into.push((v.data as { marketTicker: { bestAsk: string | null } }).marketTicker), error: () => undefined, complete: () => undefined });
  watch(clients[1], ticks[0]);
  await eventually(async () => (ticks[0].length === 1 ? true : undefined), 10_000, "the first ticker subscriber's first tick");
  watch(clients[2], ticks[1]);
  await eventually(async () => (ticks[1].length >= 1 && ticks[0].length >= 2 ? true : undefined), 10_000, "a fresh tick for both when the second joins");
  expect(new Set([...ticks[0], ...ticks[1]].map((t) => t.bestAsk))).toEqual(new Set(["2.6"]));
  expect(await metric()).toBe("4");
  expect(/gx_feed_subscribers\{feed="marketTicker"\} (\d+)/.exec(await (await fetch(b.url.replace("/graphql", "/metrics"))).text())?.[1]).toBe("2");
  for (const c of clients) await c.dispose();
});
