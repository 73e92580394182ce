import { randomBytes } from "node:crypto";
import { gql, signIn, startTestServer, type TestServer } from "../harness";
import { freshModel } from "../builders";
import { op } from "../contract";

// Two API instances sharing one queue prefix, as in production, with a long max age so that only book announcements
// end an anonymous page's life within a test.
let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  const env = { QUEUE_PREFIX: `gxtoffers${randomBytes(3).toString("hex")}`, OFFERS_CACHE_MAX_AGE_MS: "60000" };
  a = await startTestServer(env, { api: true, worker: true });
  b = await startTestServer(env, { api: true, worker: false });
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

type Page = { totalCount: number; edges: { node: { id: string; pricePerGpuHour: string; node: { region: string } } }[] };

async function offersOn(server: TestServer, market: string, token?: string, first = 20): Promise<Page> {
  const r = await gql(server.url, op("Offers"), { filter: { market }, first }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.offers as Page;
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

describe("offers pages served again to anonymous callers", () => {
  it("follows every book change across instances, serves unannounced changes only to signed-in callers, and keys by variables", async () => {
    const provider = await signIn(a.url);
    const { gpu, market } = freshModel(40);
    const node = (await gql(a.url, op("RegisterNode"), { input: { name: "cache-rig", region: "us-west", gpus: [gpu(8)] } }, provider.token)).data!.registerNode;
    const posted = await gql(a.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "2", gpuCount: 2 } }, provider.token);
    const offerId = posted.data!.postOffer.id as string;
    const first = await until(() => offersOn(b, market), (p) => p.totalCount === 1);
    expect(first.edges.map((e) => [e.node.id, e.node.pricePerGpuHour, e.node.node.region])).toEqual([[offerId, "2", "us-west"]]);

    // a reprice on A is announced to B: B's anonymous page follows it
    expect((await gql(a.url, op("RepriceOffer"), { id: offerId, pricePerGpuHour: "1.5" }, provider.token)).errors).toBeUndefined();
    expect((await until(() => offersOn(b, market), (p) => p.edges[0]?.node.pricePerGpuHour === "1.5")).edges[0].node.pricePerGpuHour).toBe("1.5");

    // a change that no book announcement carries (written behind the API's back): the anonymous page on each instance
    // is served again as it was, while a signed-in caller reads the database
    await offersOn(a, market);
    await a.system.db.query(`UPDATE nodes SET region = 'ap-northeast' WHERE id = $1`, [node.id]);
    expect((await offersOn(a, market)).edges[0].node.node.region).toBe("us-west");
    expect((await offersOn(b, market)).edges[0].node.node.region).toBe("us-west");
    expect((await offersOn(a, market, provider.token)).edges[0].node.node.region).toBe("ap-northeast");
    expect((await offersOn(a, market, undefined, 1)).edges[0].node.node.region).toBe("ap-northeast"); // other variables: its own entry

    // the next change of that market's book ends the anonymous pages everywhere
    await gql(a.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "3", gpuCount: 1 } }, provider.token);
    const after = await until(() => offersOn(b, market), (p) => p.totalCount === 2);
    expect(after.edges.map((e) => [e.node.pricePerGpuHour, e.node.node.region])).toEqual([
      ["1.5", "ap-northeast"],
      ["3", "ap-northeast"],
    ]);
    expect((await offersOn(a, market)).totalCount).toBe(2);
  });
});
