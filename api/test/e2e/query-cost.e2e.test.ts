import { actor, freshModel, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, wsClient, wsRequest, type TestServer } from "../harness";

const MAX_COST = 100_000;
let server: TestServer;
let provider: Actor;
let nodeId: string;
const { market, gpu } = freshModel();
const OFFERS = 30;

beforeAll(async () => {
  server = await startTestServer({ GRAPHQL_MAX_COST: String(MAX_COST) });
  provider = await actor(server);
  // one node with 30 offers: offers -> node -> offers -> node -> offers is 30^3 offers per alias when executed
  ({ nodeId } = await onlineOffer(server, provider, gpu(64), "2", 1));
  for (let i = 1; i < OFFERS; i++) {
    const posted = await gql(server.url, op("PostOffer"), { input: { nodeId, pricePerGpuHour: String(2 + i / 100), gpuCount: 1 } }, provider.token);
    if (posted.errors) throw new Error(JSON.stringify(posted.errors));
  }
}, 120_000);
afterAll(() => server.stop());

const threeLevels = `offers(first: 100, filter: { market: "${market}" }) { edges { node { node { offers(first: 100) { node { offers(first: 100) { node { offers(first: 100) { id market region } } } } } } } } }`;
const amplified = `query Amplified { ${Array.from({ length: 15 }, (_, i) => `a${i}: ${threeLevels}`).join(" ")} }`;

describe("the query cost limit", () => {
  it("serves the node's offers (the data the amplification would multiply)", async () => {
    const r = await gql(server.url, `query { offers(first: 100, filter: { market: "${market}" }) { totalCount edges { node { node { offers(first: 100) { id } } } } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data!.offers.totalCount).toBe(OFFERS);
    expect(r.data!.offers.edges[0].node.node.offers).toHaveLength(OFFERS);
  });

  it("refuses three levels of offers under 15 aliases over HTTP with 400, naming the cost and the limit, and holds no memory for it", async () => {
    const first = await gql(server.url, amplified);
    expect(first.status).toBe(400);
    expect(codeOf(first)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(first.errors![0].message).toMatch(new RegExp(`its cost is [0-9.e+]+, over the limit of ${MAX_COST}`));
    expect(first.data).toBeUndefined();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) {
      const r = await gql(server.url, amplified);
      expect(r.status).toBe(400);
    }
    // executed, each would build 15 x 30^3 offers; refused, the server (this process) does not grow
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 2 ** 20);
  }, 120_000);

  it("refuses it over WebSocket the same way, for queries and for subscriptions", async () => {
    const client = wsClient(server.wsUrl, provider.token);
    const query = await wsRequest(client, amplified);
    expect(codeOf(query)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(query.errors![0].message).toMatch(new RegExp(`over the limit of ${MAX_COST}`));
    const subscription = await wsRequest(client, `subscription { assignmentOffered(nodeId: "${nodeId}") { node { offers(first: 100) { node { offers(first: 100) { node { offers(first: 100) { id } } } } } } } }`);
    expect(codeOf(subscription)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(subscription.errors![0].message).toMatch(/its cost is \d+, over the limit/);
    await client.dispose();
  });

  it("reads the page sizes from the variables: the same document passes with small pages and is refused with large ones", async () => {
    const query = `query Pages($n: Int) { offers(first: $n, filter: { market: "${market}" }) { edges { node { node { offers(first: $n) { node { offers(first: $n) { id } } } } } } } }`;
    const small = await gql(server.url, query, { n: 3 });
    expect(small.errors).toBeUndefined();
    expect(small.data!.offers.edges).toHaveLength(3);
    const large = await gql(server.url, query, { n: 100 });
    expect(codeOf(large)).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("refuses a costly mutation before it runs: nothing is stored", async () => {
    const name = `costly-${Date.now()}`;
    const r = await gql(
      server.url,
      `mutation { registerNode(input: { name: "${name}", region: "eu-central", gpus: [${JSON.stringify(gpu(1)).replace(/"(\w+)":/g, "$1:")}] }) { offers(first: 100) { node { offers(first: 100) { node { offers(first: 100) { id } } } } } } }`,
      {},
      provider.token,
    );
    expect(codeOf(r)).toBe("GRAPHQL_VALIDATION_FAILED");
    const mine = await gql(server.url, op("MyNodes"), {}, provider.token);
    expect((mine.data!.myNodes as { name: string }[]).map((n) => n.name)).not.toContain(name);
  });
});
