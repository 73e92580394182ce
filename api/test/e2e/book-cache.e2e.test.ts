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
    for (let i = 0; i < 5; i++) await bookOn(b, market);

    await gql(a.url, op("RepriceOffer"), { id: first.data!.postOffer.id, pricePerGpuHour: "0.9" }, token);
    expect((await bookOn(a, market)).sequence).toBe("3");
    const seen = await until(() => bookOn(b, market), (x) => x.sequence === "3", 2000);
    expect(seen).toEqual({ ...seen, sequence: "3", asks: [{ price: "0.9", gpus: 2, orders: 1 }] });
    expect(await bookOn(b, market)).toEqual(await bookOn(a, market));
  });
});
