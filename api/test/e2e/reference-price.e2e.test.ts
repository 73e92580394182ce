import { createHash, randomBytes } from "node:crypto";
import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";

/**
 * The two attacks of issue 13 replayed over GraphQL: wash trading (an ask far above the market bought eight times by an
 * account of the same owner, and by an unrelated friend) and spoofing (twenty 64-GPU bids placed and cancelled). Each
 * market starts the same: two honest providers asking 1 OGPU per GPU-hour for 8 GPUs, two honest clients who each
 * bought one GPU-hour there (2 pairs), all work completed, so utilization is 0 and no bid rests.
 */
let server: TestServer;
/** A chain id of this file's own for the payout event it mirrors. */
const CHAIN = 8_100_000n + BigInt(process.pid % 1000);
beforeAll(async () => {
  server = await startTestServer({ RECONCILE_MS: "300", RESTING_RETRY_MS: "60000" });
});
afterAll(async () => {
  await server.system.db.query(`DELETE FROM chain_events WHERE chain_id = $1`, [CHAIN.toString()]);
  await server.stop();
});

/** The bound this test holds the attacks to: the suggested price moves by less than 5%. */
const BOUND = 0.05;

const MARKET = `query M($id: ID!) { market(id: $id) { lastPrice volume24h referencePrice demandGpus suggestedPrice utilization availableGpus } }`;
const JOB = `query J($id: ID!) { job(id: $id) { status assignments { id status node { id } } } }`;
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

interface MarketView {
  lastPrice: string | null;
  volume24h: number;
  referencePrice: string | null;
  demandGpus: number;
  suggestedPrice: string | null;
  utilization: number;
  availableGpus: number;
}

async function market(id: string): Promise<MarketView> {
  const r = await gql(server.url, MARKET, { id });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.market as MarketView;
}

const move = (before: string, after: string) => Math.abs(Number(after) - Number(before)) / Number(before);

async function submit(client: Actor, input: object): Promise<string> {
  const r = await gql(server.url, op("SubmitJob"), { input }, client.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.submitJob.id as string;
}

/** Submits a job, waits for its match, and runs it to completion on whichever of `providers`' nodes took it. */
async function trade(client: Actor, input: object, providers: Map<string, Actor>): Promise<void> {
  const id = await submit(client, input);
  const assignment = await eventually(
    async () => {
      const j = (await gql(server.url, JOB, { id }, client.token)).data!.job;
      return j.status === "MATCHED" ? (j.assignments[0] as { id: string; node: { id: string } }) : undefined;
    },
    15_000,
    `job ${id} matched`,
  );
  const provider = providers.get(assignment.node.id)!;
  const started = await gql(server.url, op("StartAssignment"), { id: assignment.id }, provider.token);
  if (started.errors) throw new Error(JSON.stringify(started.errors));
  const done = await gql(server.url, op("CompleteAssignment"), { id: assignment.id, resultHash: sha(id) }, provider.token);
  if (done.data?.completeAssignment.job.status !== "COMPLETED") throw new Error(JSON.stringify(done));
}

/** A market with two honest providers at 1 and two honest clients who each bought one GPU there; no bids, nothing running. */
async function honestMarket() {
  const m = freshModel();
  const nodes = new Map<string, Actor>();
  for (let i = 0; i < 2; i++) {
    const p = await actor(server);
    nodes.set((await onlineOffer(server, p, m.gpu(8), "1", 8)).nodeId, p);
  }
  for (let i = 0; i < 2; i++) await trade(await actor(server, 10n), jobInput(m.model, { maxPricePerGpuHour: "1" }), nodes);
  return { m, nodes };
}

/** The escrow's Claimed event (provider `from` had its earnings paid to `to`) as the indexer mirrors it. */
async function claimed(from: Actor, to: string): Promise<void> {
  await server.system.db.query(
    `INSERT INTO chain_events (chain_id, block_number, block_hash, tx_hash, log_index, address, name, args) VALUES ($1, 1, $2, $3, 0, $4, 'Claimed', $5)`,
    [CHAIN.toString(), `0x${randomBytes(32).toString("hex")}`, `0x${randomBytes(32).toString("hex")}`, `0x${"e5".repeat(20)}`, JSON.stringify({ account: from.wallet.address, to, amount: "1000" })],
  );
}

/**
 * The black-box wash attack: `buyer` and `seller` (a node in sa-east asking 50 for 8 GPUs) trade eight times; the
 * buyer's jobs ask for sa-east within 10 ms, so only the seller's node takes them.
 */
async function washTrades(m: ReturnType<typeof freshModel>, buyer: Actor, seller: Actor) {
  const node = (await onlineOffer(server, seller, m.gpu(8), "50", 8, "sa-east")).nodeId;
  const before = await market(m.market);
  for (let i = 0; i < 8; i++) await trade(buyer, jobInput(m.model, { maxPricePerGpuHour: "50", region: "sa-east", maxLatencyMs: 10 }), new Map([[node, seller]]));
  return { before, after: await market(m.market) };
}

describe("wash trading", () => {
  it("between accounts related by a payout address leaves the reference and the suggested price exactly where they were", async () => {
    const { m } = await honestMarket();
    const buyer = await actor(server, 1000n);
    const seller = await actor(server);
    // they trade while nothing relates them yet (self-trade prevention cannot know)...
    const { before } = await washTrades(m, buyer, seller);
    // 24 GPUs offered, none in use, no bids: factor = max(0.5, 1 + 0.5 x (0 - 0.7) + 0.25 x (-1)) = 0.5
    expect(before).toMatchObject({ lastPrice: "1", volume24h: 2, referencePrice: "1", suggestedPrice: "0.5", utilization: 0, availableGpus: 24 });
    // ...then the seller's earnings go to the buyer's wallet: one owner, and its trades leave the reference
    await claimed(seller, buyer.wallet.address);
    // (a market's reference is kept up to 5 s while its last price and volume stay the same)
    const after = await eventually(async () => {
      const now = await market(m.market);
      return now.referencePrice === "1" ? now : undefined;
    }, 15_000, "the reference without the related trades");
    // the tape shows the trades; the reference and the suggested price ignore them
    expect(after).toMatchObject({ lastPrice: "50", volume24h: 10, referencePrice: "1", suggestedPrice: "0.5", utilization: 0, availableGpus: 24 });
    const candles = await gql(server.url, op("Candles"), { market: m.market, interval: "ONE_DAY", from: new Date(Date.now() - 86_400_000).toISOString() });
    expect(candles.data!.candles).toEqual([expect.objectContaining({ high: "1", low: "1", volume: 2, trades: 2 })]);
    // and from now on the two cannot trade at all (self-trade prevention): the next wash job rests with SELF_TRADE
    const next = await submit(buyer, jobInput(m.model, { maxPricePerGpuHour: "50", region: "sa-east", maxLatencyMs: 10 }));
    const rested = await eventually(async () => {
      const j = (await gql(server.url, `query J($id: ID!) { job(id: $id) { status excluded { reason } } }`, { id: next }, buyer.token)).data!.job;
      return j.status === "PENDING" && j.excluded?.length ? j : undefined;
    }, 15_000, "the wash job resting");
    expect(rested.excluded.map((e: { reason: string }) => e.reason)).toContain("SELF_TRADE");
  });

  it("between two unrelated accounts moves the suggested price by less than the bound: the pair is one of three votes", async () => {
    const { m } = await honestMarket();
    const { before, after } = await washTrades(m, await actor(server, 1000n), await actor(server));
    expect(before).toMatchObject({ referencePrice: "1", suggestedPrice: "0.5", utilization: 0, availableGpus: 24 });
    // three pairs (< 5): one equal vote each; the median is 1, the pair's 50 is clipped to 1.1: (1 + 1 + 1.1) / 3
    expect(after).toMatchObject({ lastPrice: "50", volume24h: 10, referencePrice: "1.033333333333333333", suggestedPrice: "0.516666666666666666", utilization: 0 });
    expect(move(before.suggestedPrice!, after.suggestedPrice!)).toBeLessThan(BOUND);
  });
});

describe("spoofing", () => {
  it("20 resting bids of 64 GPUs placed and cancelled within seconds do not move the suggested price; bids backed for long do", async () => {
    const { m } = await honestMarket();
    const before = await market(m.market);
    const spoofer = await actor(server, 5000n);
    // below the best ask (1): they rest and never match; each holds 0.9 x 64 x 1 h = 57.6 OGPU
    const spoof: string[] = [];
    for (let i = 0; i < 20; i++) spoof.push(await submit(spoofer, jobInput(m.model, { gpuCount: 64, maxPricePerGpuHour: "0.9" })));
    const booked = await eventually(async () => {
      const book = (await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook;
      return book.bids[0]?.gpus === 1280 ? book : undefined;
    }, 15_000, "20 bids resting");
    expect(booked.bids).toEqual([{ price: "0.9", gpus: 1280, orders: 20 }]);
    // read within a minute of the first bid: none of them counts yet
    const during = await market(m.market);
    expect(during).toMatchObject({ demandGpus: 0, suggestedPrice: before.suggestedPrice, referencePrice: "1" });
    expect(move(before.suggestedPrice!, during.suggestedPrice!)).toBeLessThan(BOUND);
    for (const id of spoof) expect((await gql(server.url, op("CancelJob"), { id }, spoofer.token)).data!.cancelJob.status).toBe("CANCELLED");
    expect(await market(m.market)).toMatchObject({ demandGpus: 0, suggestedPrice: before.suggestedPrice });

    // four bids of 8 GPUs at 0.9 for an hour (7.2 OGPU each, 7.2 GPU-hours at the reference), on the book 20 minutes
    const client = await actor(server, 100n);
    const genuine: string[] = [];
    for (let i = 0; i < 4; i++) genuine.push(await submit(client, jobInput(m.model, { gpuCount: 8, maxPricePerGpuHour: "0.9" })));
    await eventually(async () => ((await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook.bids[0]?.gpus === 32 ? true : undefined), 15_000, "4 bids resting");
    await server.system.db.query(`UPDATE jobs SET created_at = created_at - interval '20 minutes' WHERE id = ANY($1::uuid[])`, [genuine]);
    const backed = await market(m.market);
    // demand 4 x 7.2 = 28.8 against 16 GPUs offered: factor = 1 - 0.35 + 0.25 x 12.8 / 44.8 = 0.7214...
    expect(backed.demandGpus).toBeCloseTo(28.8, 9);
    expect(backed.suggestedPrice).toBe("0.7214");
    expect(move(before.suggestedPrice!, backed.suggestedPrice!)).toBeGreaterThan(0.4);
  });

  it("a bid back on the book after a failed run rests anew, however long ago it was submitted", async () => {
    const { m } = await honestMarket();
    // the spoofer parks its bid as a run on an accomplice's node (unrelated on chain, or self-trade prevention would refuse it)
    const spoofer = await actor(server, 1000n);
    const accomplice = await actor(server);
    const node = await onlineOffer(server, accomplice, m.gpu(8), "0.8", 8);
    const id = await submit(spoofer, jobInput(m.model, { gpuCount: 8, maxPricePerGpuHour: "0.9" }));
    const assignment = await eventually(async () => {
      const j = (await gql(server.url, JOB, { id }, spoofer.token)).data!.job;
      return j.status === "MATCHED" ? (j.assignments[0] as { id: string }) : undefined;
    }, 15_000, "the job matched on the accomplice's node");
    expect((await gql(server.url, op("CancelOffer"), { id: node.offerId }, accomplice.token)).errors).toBeUndefined();
    await gql(server.url, op("StartAssignment"), { id: assignment.id }, accomplice.token);
    expect((await gql(server.url, op("FailAssignment"), { id: assignment.id, reason: "parked" }, accomplice.token)).errors).toBeUndefined();
    await eventually(async () => ((await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook.bids[0]?.gpus === 8 ? true : undefined), 15_000, "the bid back on the book");
    // the parked run was a trade at 0.8 between unrelated accounts, one of three equal votes, clipped to 10% under
    // the median: (1 + 1 + 0.9) / 3
    const reference = "0.966666666666666666";
    // submitted "an hour ago", but on the book only since its run failed just now: it does not count yet
    await server.system.db.query(`UPDATE jobs SET created_at = created_at - interval '1 hour' WHERE id = $1`, [id]);
    // 16 GPUs offered, none in use, no demand: factor 0.5
    expect(await market(m.market)).toMatchObject({ referencePrice: reference, demandGpus: 0, suggestedPrice: "0.483333333333333333" });
    await server.system.db.query(`UPDATE assignments SET ended_at = ended_at - interval '20 minutes', created_at = created_at - interval '20 minutes' WHERE job_id = $1`, [id]);
    // 20 minutes after the run ended it counts: its escrow of 0.9 x 8 x 1 h = 7.2 OGPU buys 7.2 / 0.9667 GPU-hours
    expect((await market(m.market)).demandGpus).toBeCloseTo(7.2 / (2.9 / 3), 5); // demand is reported to 6 decimals
  });
});
