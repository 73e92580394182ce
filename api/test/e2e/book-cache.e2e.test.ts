import { randomBytes } from "node:crypto";
import { gql, signIn, startTestServer, type TestServer } from "../harness";
import { op } from "../contract";

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  const prefix = `gxtcache${randomBytes(3).toString("hex")}`; // two instances sharing one prefix, as in production
  a = await startTestServer({ QUEUE_PREFIX: prefix }, { api: true, worker: true });
  b = await startTestServer({ QUEUE_PREFIX: prefix }, { api: true, worker: false });
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

async function bookOn(server: TestServer, market: string) {
  return (await gql(server.url, op("OrderBook"), { market })).data!.orderBook as { sequence: string; asks: { price: string; gpus: number }[] };
}

/** Counts the database loads of a server's book cache (its snapshots are still loaded). */
function loadsOf(server: TestServer) {
  return jest.spyOn(server.system.services.books as unknown as { load: (market: string) => Promise<unknown> }, "load");
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

describe("book cache across API instances", () => {
  it("serves instance A's changes from instance B once their sequence is announced", async () => {
    const { token } = await signIn(a.url);
    const market = `CACHE${process.pid}-40GB`;
    const node = (await gql(a.url, op("RegisterNode"), { input: { name: "cache-rig", region: "us-west", gpus: [{ model: `CACHE${process.pid}`, vramGb: 40, count: 8 }] } }, token)).data!.registerNode;
    const first = await gql(a.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 2 } }, token);
    expect((await until(() => bookOn(b, market), (x) => x.sequence === "1")).asks).toEqual([{ price: "1", gpus: 2, orders: 1 }]);
    // B's reads of the book it holds do not go to the database: ten reads, at most one load (an entry older than the
    // cache's maximum age, should the machine stall, is loaded again once)
    const loads = loadsOf(b);
    for (let i = 0; i < 10; i++) expect((await bookOn(b, market)).sequence).toBe("1");
    expect(loads.mock.calls.length).toBeLessThanOrEqual(1);

    await gql(a.url, op("RepriceOffer"), { id: first.data!.postOffer.id, pricePerGpuHour: "0.9" }, token);
    expect((await bookOn(a, market)).sequence).toBe("3");
    // the announcement of sequence 3 drops B's entry: B loads the new book, then serves it from the cache again
    const seen = await until(() => bookOn(b, market), (x) => x.sequence === "3", 5000);
    expect(seen).toEqual({ ...seen, sequence: "3", asks: [{ price: "0.9", gpus: 2, orders: 1 }] });
    loads.mockClear();
    for (let i = 0; i < 10; i++) expect(await bookOn(b, market)).toEqual(seen);
    expect(loads.mock.calls.length).toBeLessThanOrEqual(1);
    loads.mockRestore();
  });
});
