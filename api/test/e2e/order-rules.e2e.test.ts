import { randomBytes } from "node:crypto";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";

/** The book's order rules over GraphQL: price-time priority, self-trade prevention, IOC, post-only, client order ids. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const UPDATE_OFFER = `mutation U($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { id pricePerGpuHour gpuCount status } }`;
const POST_OFFER = `mutation P($input: PostOfferInput!) { postOffer(input: $input) { id clientOrderId postOnly cancelOnDisconnect withdrawn status } }`;
const SUBMIT = `mutation S($input: SubmitJobInput!) { submitJob(input: $input) { id status clientOrderId timeInForce } }`;
const JOB = `query J($id: ID!) { job(id: $id) { id status statusMessage excluded { reason message offers } assignments { node { id } } } }`;
const BALANCE = `query { me { escrow { available held } } }`;

type Job = { id: string; status: string; statusMessage: string | null; excluded: { reason: string; message: string; offers: number }[] | null; assignments: { node: { id: string } }[] };

async function job(client: Actor, id: string): Promise<Job> {
  const r = await gql(server.url, JOB, { id }, client.token);
  expect(r.errors).toBeUndefined();
  return r.data!.job as Job;
}

async function submit(client: Actor, input: Record<string, unknown>) {
  const r = await gql(server.url, SUBMIT, { input }, client.token);
  expect(r.errors).toBeUndefined();
  return r.data!.submitJob as { id: string; status: string };
}

/** Waits until the job is placed (or ended) and returns it. */
function settled(client: Actor, id: string, until: (j: Job) => boolean): Promise<Job> {
  return eventually(async () => {
    const j = await job(client, id);
    return until(j) ? j : undefined;
  }, 20_000, `job ${id}`);
}

const matched = (j: Job) => j.assignments.length > 0;
const resting = (j: Job) => j.status === "PENDING" && (j.excluded?.length ?? 0) > 0;

describe("price-time priority", () => {
  it("a reprice is a new order in the queue: X at 5, Y at 1, X reprices to 1, a CHEAPEST job at cap 2 matches Y", async () => {
    const m = freshModel(48);
    const x = await actor(server);
    const y = await actor(server);
    const client = await actor(server, 1000n);
    const xo = await onlineOffer(server, x, m.gpu(1), "5");
    const yo = await onlineOffer(server, y, m.gpu(1), "1");
    const re = await gql(server.url, UPDATE_OFFER, { id: xo.offerId, input: { pricePerGpuHour: "1" } }, x.token);
    expect(re.errors).toBeUndefined();
    const j = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "2", strategy: "CHEAPEST" }));
    const placed = await settled(client, j.id, matched);
    expect(placed.assignments[0].node.id).toBe(yo.nodeId);
  });

  it("a size decrease keeps the offer's place; a size increase loses it", async () => {
    const m = freshModel(48);
    const x = await actor(server);
    const y = await actor(server);
    const client = await actor(server, 1000n);
    const xo = await onlineOffer(server, x, m.gpu(4), "1", 4);
    const yo = await onlineOffer(server, y, m.gpu(4), "1", 2);
    // X shrinks 4 -> 2: still first at price 1
    expect((await gql(server.url, UPDATE_OFFER, { id: xo.offerId, input: { gpuCount: 2 } }, x.token)).errors).toBeUndefined();
    const first = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "2", strategy: "CHEAPEST" }));
    expect((await settled(client, first.id, matched)).assignments[0].node.id).toBe(xo.nodeId);
    // X grows 2 -> 4: behind Y now
    expect((await gql(server.url, UPDATE_OFFER, { id: xo.offerId, input: { gpuCount: 4 } }, x.token)).errors).toBeUndefined();
    const second = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "2", strategy: "CHEAPEST" }));
    expect((await settled(client, second.id, matched)).assignments[0].node.id).toBe(yo.nodeId);
  });
});

describe("self-trade prevention", () => {
  it("a job never matches its own account's offer: it takes a dearer one of another account, or rests with SELF_TRADE", async () => {
    const m = freshModel(48);
    const washer = await actor(server, 1000n);
    await onlineOffer(server, washer, m.gpu(8), "1", 8);
    const alone = await submit(washer, jobInput(m.model, { maxPricePerGpuHour: "3" }));
    const rested = await settled(washer, alone.id, resting);
    // (other files' offers in this database are excluded too, as MODEL or OFFLINE)
    expect(rested.excluded?.filter((e) => e.reason !== "MODEL" && e.reason !== "OFFLINE")).toEqual([
      { reason: "SELF_TRADE", offers: 1, message: "1 offer of your own account or an account related to it (self-trade prevention)" },
    ]);
    const honest = await actor(server);
    const other = await onlineOffer(server, honest, m.gpu(1), "2.5");
    // the honest offer serves the resting job; the washer's cheaper ask is never its own counterparty
    expect((await settled(washer, alone.id, matched)).assignments[0].node.id).toBe(other.nodeId);
    const [trades] = await server.system.db.query(`SELECT count(*)::int AS n FROM trades t JOIN offers o ON o.id = t.offer_id WHERE o.provider_id = $1`, [washer.accountId]);
    expect(trades.n).toBe(0);
  });

  it("accounts related on chain (a provider claiming its earnings to the client's wallet) do not trade with each other", async () => {
    const m = freshModel(48);
    const provider = await actor(server);
    const client = await actor(server, 1000n);
    await onlineOffer(server, provider, m.gpu(1), "1");
    // what the indexer mirrors of Escrow.claim(to): the provider paid its earnings out to the client's wallet
    await server.system.db.query(
      `INSERT INTO chain_events (chain_id, block_number, block_hash, tx_hash, log_index, address, name, args)
       VALUES (31337, 1, $1, $1, 0, $2, 'Claimed', $3)`,
      [`0x${randomBytes(32).toString("hex")}`, `0x${"00".repeat(20)}`, { account: provider.wallet.address, to: client.wallet.address, amount: "1" }],
    );
    const j = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "3" }));
    const rested = await settled(client, j.id, resting);
    expect(rested.excluded?.map((e) => e.reason).filter((r) => r !== "MODEL" && r !== "OFFLINE")).toEqual(["SELF_TRADE"]);
  });
});

describe("time in force", () => {
  it("an IOC job that no offer can fill is cancelled at once with its reasons, and its hold is released", async () => {
    const m = freshModel(48);
    const provider = await actor(server);
    const client = await actor(server, 100n);
    await onlineOffer(server, provider, m.gpu(1), "5");
    const before = (await gql(server.url, BALANCE, {}, client.token)).data!.me.escrow;
    const j = await submit(client, { ...jobInput(m.model, { maxPricePerGpuHour: "2" }), timeInForce: "IOC", clientOrderId: "ioc-1" });
    const ended = await settled(client, j.id, (x) => x.status !== "PENDING");
    expect(ended.status).toBe("CANCELLED");
    expect(ended.statusMessage).toMatch(/^immediate-or-cancel: no offer could fill it at once: .*\b1 offer above your price cap by 150% or less/);
    expect(ended.assignments).toEqual([]);
    const after = (await gql(server.url, BALANCE, {}, client.token)).data!.me.escrow;
    expect(after).toEqual(before);
    // it never rested: the book shows no bid
    const book = await gql(server.url, op("OrderBook"), { market: m.market, depth: 5 });
    expect(book.data!.orderBook.bids).toEqual([]);
  });

  it("an IOC job that can be filled is matched", async () => {
    const m = freshModel(48);
    const provider = await actor(server);
    const client = await actor(server, 100n);
    const o = await onlineOffer(server, provider, m.gpu(1), "1");
    const j = await submit(client, { ...jobInput(m.model, { maxPricePerGpuHour: "2" }), timeInForce: "IOC" });
    expect((await settled(client, j.id, matched)).assignments[0].node.id).toBe(o.nodeId);
  });
});

describe("post-only asks", () => {
  it("refuses a post-only offer (or its reprice) that would match a resting job at once, and keeps one that would not", async () => {
    const m = freshModel(48);
    const client = await actor(server, 1000n);
    const provider = await actor(server);
    // a node of the market with an ask above the job's cap, so the job rests
    const { nodeId } = await onlineOffer(server, provider, m.gpu(4), "9", 1);
    const j = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "3" }));
    await settled(client, j.id, resting);
    const taker = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "2", gpuCount: 1, postOnly: true } }, provider.token);
    expect(codeOf(taker)).toBe("CONFLICT");
    expect(taker.errors![0].message).toBe("post-only: this offer would match 1 resting job at once (best bid 3 OGPU per GPU-hour); ask more than the bids or post without postOnly");
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM offers WHERE node_id = $1`, [nodeId]);
    expect(n).toBe(1);
    const maker = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "4", gpuCount: 1, postOnly: true } }, provider.token);
    expect(maker.errors).toBeUndefined();
    expect(maker.data!.postOffer).toMatchObject({ postOnly: true, status: "OPEN" });
    const cross = await gql(server.url, UPDATE_OFFER, { id: maker.data!.postOffer.id, input: { pricePerGpuHour: "3" } }, provider.token);
    expect(codeOf(cross)).toBe("CONFLICT");
    const [kept] = await server.system.db.query(`SELECT price_wei::text FROM offers WHERE id = $1`, [maker.data!.postOffer.id]);
    expect(kept.price_wei).toBe((4n * 10n ** 18n).toString());
    expect((await job(client, j.id)).status).toBe("PENDING");
  });
});

describe("client order ids", () => {
  it("are unique among an account's open offers and live jobs, and free again once those end", async () => {
    const m = freshModel(48);
    const provider = await actor(server);
    const { nodeId, offerId } = await onlineOffer(server, provider, m.gpu(4), "7", 1);
    const a = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "7", gpuCount: 1, clientOrderId: "ask-7" } }, provider.token);
    expect(a.data!.postOffer.clientOrderId).toBe("ask-7");
    const dup = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "8", gpuCount: 1, clientOrderId: "ask-7" } }, provider.token);
    expect(codeOf(dup)).toBe("CONFLICT");
    expect(dup.errors![0].message).toContain('clientOrderId "ask-7" is already on an open offer of yours');
    const bad = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "8", gpuCount: 1, clientOrderId: "has space" } }, provider.token);
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    expect((await gql(server.url, op("CancelOffer"), { id: a.data!.postOffer.id }, provider.token)).errors).toBeUndefined();
    const again = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "8", gpuCount: 1, clientOrderId: "ask-7" } }, provider.token);
    expect(again.errors).toBeUndefined();
    expect(offerId).not.toBe(again.data!.postOffer.id);

    const client = await actor(server, 1000n);
    const first = await submit(client, { ...jobInput(m.model, { maxPricePerGpuHour: "1" }), clientOrderId: "train-1" });
    const second = await gql(server.url, SUBMIT, { input: { ...jobInput(m.model, { maxPricePerGpuHour: "1" }), clientOrderId: "train-1" } }, client.token);
    expect(codeOf(second)).toBe("CONFLICT");
    expect((await gql(server.url, op("CancelJob"), { id: first.id }, client.token)).errors).toBeUndefined();
    const third = await submit(client, { ...jobInput(m.model, { maxPricePerGpuHour: "1" }), clientOrderId: "train-1" });
    expect(third.id).not.toBe(first.id);
  });
});

describe("cancel on disconnect", () => {
  it("takes a silent node's offers off the book and brings them back with its next heartbeat", async () => {
    const m = freshModel(48);
    const provider = await actor(server);
    const { nodeId } = await onlineOffer(server, provider, m.gpu(2), "9", 1);
    const posted = await gql(server.url, POST_OFFER, { input: { nodeId, pricePerGpuHour: "3", gpuCount: 1, cancelOnDisconnect: true } }, provider.token);
    expect(posted.data!.postOffer).toMatchObject({ cancelOnDisconnect: true, withdrawn: false });
    const asks = async () => (await gql(server.url, op("OrderBook"), { market: m.market, depth: 5 })).data!.orderBook.asks.map((a: { price: string }) => a.price);
    await eventually(async () => ((await asks()).join() === "3,9" ? true : undefined), 10_000, "both asks on the book");
    // the sweep, a heartbeat window later (time given, not waited for)
    const later = new Date(Date.now() + (server.system.config.HEARTBEAT_WINDOW_SECONDS + 1) * 1000);
    expect(await server.system.services.offers.withdrawSilent(later)).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await asks()).join() === "9" ? true : undefined), 10_000, "the cancel-on-disconnect ask withdrawn");
    const [row] = await server.system.db.query(`SELECT status, withdrawn_at IS NOT NULL AS withdrawn FROM offers WHERE id = $1`, [posted.data!.postOffer.id]);
    expect(row).toEqual({ status: "OPEN", withdrawn: true });
    expect((await gql(server.url, op("Heartbeat"), { nodeId }, provider.token)).errors).toBeUndefined();
    await eventually(async () => ((await asks()).join() === "3,9" ? true : undefined), 10_000, "the ask back after a heartbeat");
  });
});
