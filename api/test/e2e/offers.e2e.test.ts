import { codeOf, gql, signIn, startTestServer, type TestServer } from "../harness";
import { freshModel } from "../builders";
import { op } from "../contract";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ OFFER_EXPIRY_SWEEP_MS: "200" });
});
afterAll(() => server.stop());

const H100 = { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 8 };
/** A GPU of a model of its own (48 GB), so this file's books hold only its own offers. */
function freshGpu(count = 8) {
  const m = freshModel(48);
  return { gpu: m.gpu(count), market: m.market };
}

async function provider() {
  return signIn(server.url);
}

async function registerNode(token: string, gpus: object[] = [H100], name = "rig-1", region = "eu-central") {
  const r = await gql(server.url, op("RegisterNode"), { input: { name, region, gpus, cpuCores: 64, ramGb: 512, agentVersion: "0.1.0" } }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.registerNode as { id: string; status: string; gpus: { model: string }[]; provider: { address: string } };
}

async function book(market: string) {
  const r = await gql(server.url, op("OrderBook"), { market, depth: 10 });
  expect(r.errors).toBeUndefined();
  return r.data!.orderBook as { market: string; sequence: string; asks: { price: string; gpus: number; orders: number }[]; bids: unknown[] };
}

async function countRows(table: string): Promise<number> {
  const [row] = await server.system.db.query(`SELECT count(*)::int AS n FROM ${table}`);
  return row.n;
}

describe("nodes", () => {
  it("registers a node, re-registers it by name, heartbeats, and lists it", async () => {
    const { token, wallet } = await provider();
    const node = await registerNode(token);
    expect(node.status).toBe("OFFLINE");
    expect(node.provider.address).toBe(wallet.address);
    const again = await registerNode(token, [{ ...H100, count: 4 }, { model: "GeForce RTX 4090", vramGb: 24, count: 2 }]);
    expect(again.id).toBe(node.id);
    expect(again.gpus).toHaveLength(2);
    const hb = await gql(server.url, op("Heartbeat"), { nodeId: node.id, metrics: { gpuUtilization: 0.5, measuredLatencyMs: 12 } }, token);
    expect(hb.errors).toBeUndefined();
    expect(hb.data!.heartbeat).toMatchObject({ nodeId: node.id, status: "ONLINE" });
    const mine = await gql(server.url, op("MyNodes"), {}, token);
    expect(mine.data!.myNodes).toHaveLength(1);
    expect(mine.data!.myNodes[0]).toMatchObject({ id: node.id, status: "ONLINE", earnings: { settled: "0", pending: "0" }, offers: [] });
    // the last reported metrics, as the provider console shows them; a heartbeat without one keeps it
    await gql(server.url, op("Heartbeat"), { nodeId: node.id, metrics: { gpuTemperatureC: 61.5 } }, token);
    const metrics = await gql(server.url, `query { myNodes { gpuUtilization gpuTemperatureC measuredLatencyMs } }`, {}, token);
    expect(metrics.data!.myNodes[0]).toEqual({ gpuUtilization: 0.5, gpuTemperatureC: 61.5, measuredLatencyMs: 12 });
  });

  it("goes OFFLINE when heartbeats stop for the window", async () => {
    const { token } = await provider();
    const node = await registerNode(token);
    await gql(server.url, op("Heartbeat"), { nodeId: node.id }, token);
    await server.system.db.query(`UPDATE nodes SET last_heartbeat_at = now() - interval '61 seconds' WHERE id = $1`, [node.id]);
    expect((await gql(server.url, op("MyNodes"), {}, token)).data!.myNodes[0].status).toBe("OFFLINE");
  });

  it("refuses unknown regions, bad GPUs and bad metrics, storing nothing", async () => {
    const { token } = await provider();
    const before = await countRows("nodes");
    const bad = [
      { name: "n", region: "mars-north", gpus: [H100] },
      { name: "n", region: "eu-west", gpus: [] },
      { name: "n", region: "eu-west", gpus: [{ ...H100, count: 0 }] },
      { name: "n", region: "eu-west", gpus: [{ ...H100, vramGb: -1 }] },
      { name: "n", region: "eu-west", gpus: [{ ...H100, model: "NVIDIA" }] },
      { name: "", region: "eu-west", gpus: [H100] },
    ];
    for (const input of bad) {
      const r = await gql(server.url, op("RegisterNode"), { input }, token);
      expect({ input, code: codeOf(r) }).toEqual({ input, code: "BAD_USER_INPUT" });
    }
    expect(await countRows("nodes")).toBe(before);
    const node = await registerNode(token);
    expect(codeOf(await gql(server.url, op("Heartbeat"), { nodeId: node.id, metrics: { gpuUtilization: 7 } }, token))).toBe("BAD_USER_INPUT");
  });

  it("lets no other wallet heartbeat a node", async () => {
    const alice = await provider();
    const bob = await provider();
    const node = await registerNode(alice.token);
    const r = await gql(server.url, op("Heartbeat"), { nodeId: node.id }, bob.token);
    expect(codeOf(r)).toBe("FORBIDDEN");
    const [row] = await server.system.db.query(`SELECT last_heartbeat_at FROM nodes WHERE id = $1`, [node.id]);
    expect(row.last_heartbeat_at).toBeNull();
    expect(codeOf(await gql(server.url, op("Heartbeat"), { nodeId: "00000000-0000-0000-0000-000000000000" }, bob.token))).toBe("NOT_FOUND");
  });

  it("serves the fixed list of regions", async () => {
    const r = await gql(server.url, `{ regions { id name latitude longitude } }`);
    expect(r.data!.regions.map((x: { id: string }) => x.id)).toEqual([
      "us-east", "us-central", "us-west", "ca-central", "sa-east", "uk-south", "eu-west", "eu-central",
      "eu-north", "me-central", "af-south", "ap-south", "ap-southeast", "ap-east", "ap-northeast", "au-southeast",
    ]);
  });
});

describe("offers and the order book", () => {
  it("posts an offer, shows it in the book, reprices it, cancels it, with the sequence growing at every change", async () => {
    const { token } = await provider();
    const { gpu, market } = freshGpu();
    const node = await registerNode(token, [gpu]);
    const posted = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "2.5", gpuCount: 4 } }, token);
    expect(posted.errors).toBeUndefined();
    const offer = posted.data!.postOffer;
    expect(offer).toMatchObject({ market, pricePerGpuHour: "2.5", gpuCount: 4, availableGpus: 4, status: "OPEN", node: { id: node.id } });

    const b1 = await book(market);
    expect(b1.asks).toEqual([{ price: "2.5", gpus: 4, orders: 1 }]);
    expect(b1.bids).toEqual([]);
    expect(b1.sequence).toBe("1");

    const second = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "2.5", gpuCount: 2 } }, token);
    expect(second.errors).toBeUndefined();
    expect((await book(market)).asks).toEqual([{ price: "2.5", gpus: 6, orders: 2 }]);

    const repriced = await gql(server.url, op("RepriceOffer"), { id: offer.id, pricePerGpuHour: "1.75" }, token);
    expect(repriced.data!.updateOffer).toEqual({ id: offer.id, pricePerGpuHour: "1.75", status: "OPEN" });
    const b3 = await book(market);
    expect(b3.asks).toEqual([
      { price: "1.75", gpus: 4, orders: 1 },
      { price: "2.5", gpus: 2, orders: 1 },
    ]);
    expect(b3.sequence).toBe("4");

    const cancelled = await gql(server.url, op("CancelOffer"), { id: offer.id }, token);
    expect(cancelled.data!.cancelOffer).toEqual({ id: offer.id, status: "CANCELLED" });
    const b4 = await book(market);
    expect(b4.asks).toEqual([{ price: "2.5", gpus: 2, orders: 1 }]);
    expect(b4.sequence).toBe("5");
    expect((await gql(server.url, op("CancelOffer"), { id: offer.id }, token)).data!.cancelOffer.status).toBe("CANCELLED");
    expect(codeOf(await gql(server.url, op("RepriceOffer"), { id: offer.id, pricePerGpuHour: "3" }, token))).toBe("CONFLICT");

    const markets = await gql(server.url, op("Markets"));
    const m = markets.data!.markets.find((x: { id: string }) => x.id === market);
    expect(m).toMatchObject({ bestAsk: "2.5", openOffers: 1, availableGpus: 2, utilization: 0, bestBid: null, lastPrice: null });
  });

  it("makes one market of 'NVIDIA H100 80GB HBM3' and 'H100-80GB' and picks a node's GPU group", async () => {
    const { token } = await provider();
    const node = await registerNode(token, [H100, { model: "H100-80GB", vramGb: 80, count: 2 }, { model: "GeForce RTX 4090", vramGb: 24, count: 4 }]);
    expect(node.gpus).toHaveLength(2);
    const noModel = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "3", gpuCount: 1 } }, token);
    expect(codeOf(noModel)).toBe("BAD_USER_INPUT");
    const r = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, gpuModel: "RTX 4090", pricePerGpuHour: "0.4", gpuCount: 4 } }, token);
    expect(r.data!.postOffer.market).toBe("RTX4090-24GB");
    const h = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, gpuModel: "H100", pricePerGpuHour: "3", gpuCount: 10 } }, token);
    expect(h.data!.postOffer.market).toBe("H100-80GB");
  });

  it("refuses negative, zero and malformed prices, bad counts and more GPUs than the node has, storing nothing", async () => {
    const { token } = await provider();
    const { gpu, market } = freshGpu(8);
    const node = await registerNode(token, [gpu]);
    const before = await countRows("offers");
    const seqBefore = (await book(market)).sequence;
    for (const price of ["-1", "0", "abc", "1.2.3", "1e3", "", "0.0000000000000000001"]) {
      const r = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: price, gpuCount: 1 } }, token);
      expect({ price, code: codeOf(r) }).toEqual({ price, code: "BAD_USER_INPUT" });
    }
    const asNumber = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: 1.5, gpuCount: 1 } }, token);
    expect(codeOf(asNumber)).toBe("BAD_USER_INPUT");
    for (const gpuCount of [0, -2, 9]) {
      const r = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount } }, token);
      expect({ gpuCount, code: codeOf(r) }).toEqual({ gpuCount, code: "BAD_USER_INPUT" });
    }
    const past = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 1, expiresAt: "2020-01-01T00:00:00Z" } }, token);
    expect(codeOf(past)).toBe("BAD_USER_INPUT");
    const literal = await gql(server.url, `mutation { postOffer(input: { nodeId: "${node.id}", pricePerGpuHour: "-3", gpuCount: 1 }) { id } }`, {}, token);
    expect(codeOf(literal)).toBe("BAD_USER_INPUT");
    expect(await countRows("offers")).toBe(before);
    expect((await book(market)).sequence).toBe(seqBefore);

    const ok = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 6 } }, token);
    expect(ok.errors).toBeUndefined();
    const tooMany = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 3 } }, token);
    expect(codeOf(tooMany)).toBe("BAD_USER_INPUT");
    expect(tooMany.errors![0].message).toMatch(/offer at most 2/);
    const resize = await gql(server.url, `mutation($id: ID!) { updateOffer(id: $id, input: { gpuCount: 9 }) { id } }`, { id: ok.data!.postOffer.id }, token);
    expect(codeOf(resize)).toBe("BAD_USER_INPUT");
    const bad = await gql(server.url, op("RepriceOffer"), { id: ok.data!.postOffer.id, pricePerGpuHour: "-1" }, token);
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    expect((await book(market)).asks).toEqual([{ price: "1", gpus: 6, orders: 1 }]);
  });

  it("posts concurrently without overselling a node", async () => {
    const { token } = await provider();
    const { gpu, market } = freshGpu(8);
    const node = await registerNode(token, [gpu]);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 1 } }, token)),
    );
    expect(results.filter((r) => !r.errors).length).toBe(8);
    expect(results.filter((r) => codeOf(r) === "BAD_USER_INPUT").length).toBe(4);
    const b = await book(market);
    expect(b.asks).toEqual([{ price: "1", gpus: 8, orders: 8 }]);
    expect(b.sequence).toBe("8");
  });

  it("lets no other wallet post on, reprice or cancel your node's offers", async () => {
    const alice = await provider();
    const bob = await provider();
    const { gpu, market } = freshGpu();
    const node = await registerNode(alice.token, [gpu]);
    const offer = (await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "2", gpuCount: 2 } }, alice.token)).data!.postOffer;
    const before = await book(market);
    expect(codeOf(await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 1 } }, bob.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("RepriceOffer"), { id: offer.id, pricePerGpuHour: "0.1" }, bob.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("CancelOffer"), { id: offer.id }, bob.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("RegisterNode"), { input: { name: "rig-1", region: "us-east", gpus: [gpu] } }, bob.token))).toBeUndefined();
    expect(await book(market)).toEqual(before);
    const [row] = await server.system.db.query(`SELECT price_wei, status FROM offers WHERE id = $1`, [offer.id]);
    expect(row).toEqual({ price_wei: "2000000000000000000", status: "OPEN" });
    expect(codeOf(await gql(server.url, op("CancelOffer"), { id: offer.id }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, op("CancelOffer"), { id: "nope" }, bob.token))).toBe("NOT_FOUND");
  });

  it("expires offers at expiresAt, removing them from the book", async () => {
    const { token } = await provider();
    const { gpu, market } = freshGpu();
    const node = await registerNode(token, [gpu]);
    const expiresAt = new Date(Date.now() + 600).toISOString();
    const r = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "2", gpuCount: 2, expiresAt } }, token);
    expect(r.data!.postOffer.expiresAt).toBe(expiresAt);
    expect((await book(market)).asks).toHaveLength(1);
    const deadline = Date.now() + 10_000;
    while ((await book(market)).asks.length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const after = await book(market);
    expect(after.asks).toEqual([]);
    expect(after.sequence).toBe("2");
    const listed = await gql(server.url, op("Offers"), { filter: { market, status: "EXPIRED" } });
    expect(listed.data!.offers.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([r.data!.postOffer.id]);
  });

  it("lists offers cheapest first then oldest, filtered, in pages with totalCount", async () => {
    const { token } = await provider();
    const { gpu, market } = freshGpu(8);
    const node = await registerNode(token, [gpu], "rig-list", "ap-northeast");
    const ids: string[] = [];
    for (const price of ["3", "1", "2", "1", "5"]) {
      const r = await gql(server.url, op("PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: price, gpuCount: 1 } }, token);
      ids.push(r.data!.postOffer.id);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await gql(server.url, op("Offers"), { filter: { market }, first: 2, after });
      expect(page.errors).toBeUndefined();
      expect(page.data.offers.totalCount).toBe(5);
      seen.push(...page.data.offers.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!page.data.offers.pageInfo.hasNextPage) break;
      after = page.data.offers.pageInfo.endCursor;
    }
    expect(seen).toEqual([ids[1], ids[3], ids[2], ids[0], ids[4]]);
    const cheap = await gql(server.url, op("Offers"), { filter: { market, maxPricePerGpuHour: "2", region: "ap-northeast", minVramGb: 40 } });
    expect(cheap.data!.offers.totalCount).toBe(3);
    const first = cheap.data!.offers.edges[0].node;
    expect(first).toMatchObject({ market, pricePerGpuHour: "1", node: { region: "ap-northeast", gpus: [{ vramGb: 48, count: 8 }] }, provider: { reputation: { score: 0.5 } } });
    expect(codeOf(await gql(server.url, op("Offers"), { filter: { region: "mars" } }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("Offers"), { first: 0 }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("Offers"), { first: 101 }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("Offers"), { after: "garbage" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("OrderBook"), { market: "nonsense" }))).toBe("BAD_USER_INPUT");
    const unused = freshModel(192).market; // a well-formed market nobody has offered in
    expect((await gql(server.url, op("OrderBook"), { market: unused })).data!.orderBook).toEqual({ market: unused, sequence: "0", asks: [], bids: [] });
  });

  it("lists by status with each offer's own node and provider, counts an empty page, and finds totalCount in a fragment", async () => {
    const a = await provider();
    const b = await provider();
    const { gpu, market } = freshGpu(8);
    const nodeA = await registerNode(a.token, [gpu], "rig-a", "us-west");
    const nodeB = await registerNode(b.token, [gpu], "rig-b", "eu-west");
    const post = async (token: string, nodeId: string, price: string) =>
      (await gql(server.url, op("PostOffer"), { input: { nodeId, pricePerGpuHour: price, gpuCount: 1 } }, token)).data!.postOffer.id as string;
    const a1 = await post(a.token, nodeA.id, "4");
    const b1 = await post(b.token, nodeB.id, "3");
    const b2 = await post(b.token, nodeB.id, "6");
    expect((await gql(server.url, op("CancelOffer"), { id: b2 }, b.token)).errors).toBeUndefined();
    const open = await gql(server.url, op("Offers"), { filter: { market } });
    expect(open.data!.offers.totalCount).toBe(2);
    expect(open.data!.offers.edges.map((e: any) => [e.node.id, e.node.node.id, e.node.node.region, e.node.provider.address])).toEqual([
      [b1, nodeB.id, "eu-west", b.wallet.address],
      [a1, nodeA.id, "us-west", a.wallet.address],
    ]);
    const cancelled = await gql(server.url, op("Offers"), { filter: { market, status: "CANCELLED" } });
    expect(cancelled.data!.offers).toMatchObject({ totalCount: 1, edges: [{ node: { id: b2, status: "CANCELLED", node: { id: nodeB.id } } }] });
    const past = await gql(server.url, op("Offers"), { filter: { market }, first: 2, after: open.data!.offers.pageInfo.endCursor });
    expect(past.data!.offers).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 2 });
    const none = await gql(server.url, op("Offers"), { filter: { market, maxPricePerGpuHour: "2" } });
    expect(none.data!.offers).toMatchObject({ edges: [], totalCount: 0 });
    const byFragment = await gql(
      server.url,
      `query { offers(filter: { market: "${market}" }, first: 1) { ...Count edges { node { id } } } } fragment Count on OfferConnection { totalCount }`,
    );
    expect(byFragment.data!.offers).toEqual({ totalCount: 2, edges: [{ node: { id: b1 } }] });
    const onlyCount = await gql(server.url, `query { offers(filter: { market: "${market}" }) { totalCount } }`);
    expect(onlyCount.data!.offers).toEqual({ totalCount: 2 });
  });
});
