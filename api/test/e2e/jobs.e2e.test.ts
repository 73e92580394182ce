import { actor, eventually, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, type TestServer } from "../harness";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RECONCILE_MS: "300", RESTING_RETRY_MS: "60000" });
});
afterAll(() => server.stop());

const JOB = `query J($id: ID!) { job(id: $id) { id status hold excluded { reason message offers } assignments { id status attempt pricePerGpuHour node { id region } provider { address } } } }`;

async function submit(who: Actor, input: object) {
  return gql(server.url, op("SubmitJob"), { input }, who.token);
}

async function job(who: Actor, id: string) {
  const r = await gql(server.url, JOB, { id }, who.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.job as { id: string; status: string; hold: string; excluded: { reason: string; message: string; offers: number }[] | null; assignments: { status: string; pricePerGpuHour: string; provider: { address: string }; node: { id: string } }[] };
}

async function escrow(who: Actor) {
  const [row] = await server.system.db.query(`SELECT deposited_wei, held_wei FROM escrow_balances WHERE account_id = $1`, [who.accountId]);
  return { deposited: BigInt(row?.deposited_wei ?? 0), held: BigInt(row?.held_wei ?? 0) };
}

const untilStatus = (who: Actor, id: string, status: string, resting?: boolean) =>
  eventually(async () => {
    const j = await job(who, id);
    if (j.status !== status) return undefined;
    if (resting !== undefined) {
      const [row] = await server.system.db.query(`SELECT resting FROM jobs WHERE id = $1`, [id]);
      if (row.resting !== resting) return undefined;
    }
    return j;
  }, 10_000, `job ${id} ${status}`);

describe("submitJob and matching", () => {
  it("matches a job on the best offer at the offer's ask, holds the maximum cost, and records the trade", async () => {
    const m = freshModel();
    const p1 = await actor(server);
    const p2 = await actor(server);
    await onlineOffer(server, p1, m.gpu(8), "2.5", 4);
    const cheap = await onlineOffer(server, p2, m.gpu(8), "2.1", 4);
    const client = await actor(server, 100n);
    const r = await submit(client, jobInput(m.model, { gpuCount: 2, maxPricePerGpuHour: "3", maxDurationSeconds: 7200 }));
    expect(r.errors).toBeUndefined();
    expect(r.data!.submitJob).toMatchObject({ status: "PENDING", kind: "INFERENCE", maxPricePerGpuHour: "3", maxDurationSeconds: 7200, redundancy: 1 });
    expect((await escrow(client)).held).toBe(12n * 10n ** 18n);
    const matched = await untilStatus(client, r.data!.submitJob.id, "MATCHED");
    expect(matched.assignments).toHaveLength(1);
    expect(matched.assignments[0]).toMatchObject({ status: "ASSIGNED", pricePerGpuHour: "2.1", provider: { address: p2.wallet.address }, node: { id: cheap.nodeId } });
    expect(matched.excluded).toBeNull();
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    expect(book.data!.orderBook.asks).toEqual([{ price: "2.1", gpus: 2, orders: 1 }, { price: "2.5", gpus: 4, orders: 1 }]);
    const trades = await gql(server.url, op("Trades"), { market: m.market }, client.token);
    expect(trades.data!.trades.edges).toHaveLength(1);
    expect(trades.data!.trades.edges[0].node).toMatchObject({ market: m.market, price: "2.1", gpus: 2, job: { id: matched.id } });
    const anonymous = await gql(server.url, op("Trades"), { market: m.market });
    expect(anonymous.data!.trades.edges[0].node.job).toBeNull();
    const candles = await gql(server.url, op("Candles"), { market: m.market, interval: "ONE_MINUTE", from: new Date(Date.now() - 3_600_000).toISOString() });
    expect(candles.errors).toBeUndefined();
    expect(candles.data!.candles).toEqual([expect.objectContaining({ open: "2.1", high: "2.1", low: "2.1", close: "2.1", volume: 2, trades: 1 })]);
    const markets = await gql(server.url, op("Markets"));
    const market = markets.data!.markets.find((x: { id: string }) => x.id === m.market);
    expect(market).toMatchObject({ lastPrice: "2.1", volume24h: 2, bestAsk: "2.1", availableGpus: 6, utilization: 0.25 });
    // reference 2.1 (one trade), utilization 2/8, no bids against 6 free GPUs (imbalance -1):
    // factor = 1 + 0.5 x (0.25 - 0.7) + 0.25 x (-1) = 0.525 -> 1.1025
    const suggested = await gql(server.url, op("SuggestedPrice"), { market: m.market });
    expect(suggested.data!.market).toEqual({ id: m.market, suggestedPrice: "1.1025", utilization: 0.25 });
  });

  it("rests a job that matches nothing on the bid side with its reasons, and matches it when an offer crosses it", async () => {
    const m = freshModel();
    const p = await actor(server);
    const offer = await onlineOffer(server, p, m.gpu(8), "4", 8);
    const client = await actor(server, 100n);
    const r = await submit(client, jobInput(m.model, { gpuCount: 2, maxPricePerGpuHour: "3.5" }));
    const id = r.data!.submitJob.id;
    const resting = await untilStatus(client, id, "PENDING", true);
    const price = resting.excluded!.find((e) => e.reason === "PRICE");
    expect(price).toMatchObject({ offers: 1 });
    expect(price!.message).toMatch(/1 offer above your price cap/);
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    expect(book.data!.orderBook.bids).toEqual([{ price: "3.5", gpus: 2, orders: 1 }]);
    const seq = BigInt(book.data!.orderBook.sequence);
    const markets = await gql(server.url, op("Markets"));
    expect(markets.data!.markets.find((x: { id: string }) => x.id === m.market).bestBid).toBe("3.5");

    const repriced = await gql(server.url, op("RepriceOffer"), { id: offer.offerId, pricePerGpuHour: "3.4" }, p.token);
    expect(repriced.errors).toBeUndefined();
    const matched = await untilStatus(client, id, "MATCHED");
    expect(matched.assignments[0].pricePerGpuHour).toBe("3.4");
    const after = await gql(server.url, op("OrderBook"), { market: m.market });
    expect(after.data!.orderBook.bids).toEqual([]);
    expect(after.data!.orderBook.asks).toEqual([{ price: "3.4", gpus: 6, orders: 1 }]);
    expect(BigInt(after.data!.orderBook.sequence)).toBeGreaterThan(seq);
  });

  it("serves resting bids highest cap first, then oldest", async () => {
    const m = freshModel();
    const p = await actor(server);
    const client = await actor(server, 1000n);
    await onlineOffer(server, p, m.gpu(2), "5", 2);
    const ids: string[] = [];
    for (const cap of ["2", "3", "3", "2.5"]) {
      const r = await submit(client, jobInput(m.model, { gpuCount: 1, maxPricePerGpuHour: cap }));
      ids.push(r.data!.submitJob.id);
      await untilStatus(client, r.data!.submitJob.id, "PENDING", true);
    }
    await onlineOffer(server, p, m.gpu(2), "1.5", 2);
    await untilStatus(client, ids[1], "MATCHED");
    await untilStatus(client, ids[2], "MATCHED");
    expect((await job(client, ids[0])).status).toBe("PENDING");
    expect((await job(client, ids[3])).status).toBe("PENDING");
  });

  it("places redundant replicas on distinct providers", async () => {
    const m = freshModel();
    const p1 = await actor(server);
    const p2 = await actor(server);
    await onlineOffer(server, p1, m.gpu(8), "2", 8, "eu-central", "a");
    await onlineOffer(server, p1, m.gpu(8), "2.1", 8, "eu-central", "b");
    const client = await actor(server, 100n);
    const r = await submit(client, jobInput(m.model, { redundancy: 2 }));
    const id = r.data!.submitJob.id;
    const resting = await untilStatus(client, id, "PENDING", true);
    expect(resting.excluded!.map((e) => e.reason)).toContain("SAME_PROVIDER");
    await onlineOffer(server, p2, m.gpu(8), "2.2", 8);
    const matched = await untilStatus(client, id, "MATCHED");
    expect(new Set(matched.assignments.map((a) => a.provider.address))).toEqual(new Set([p1.wallet.address, p2.wallet.address]));
  });

  it("refuses a job the escrow cannot cover, storing nothing", async () => {
    const m = freshModel();
    const client = await actor(server, 1n);
    const before = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [client.accountId]);
    const r = await submit(client, jobInput(m.model.replace(/.*/, "H100"), { gpuCount: 1, maxPricePerGpuHour: "2", maxDurationSeconds: 3600 }));
    expect(codeOf(r)).toBe("INSUFFICIENT_FUNDS");
    expect(r.errors![0].message).toMatch(/holds up to 2 OGPU.*available escrow is 1 OGPU/);
    const after = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [client.accountId]);
    expect(after[0].n).toBe(before[0].n);
    expect((await escrow(client)).held).toBe(0n);
  });

  it.each([
    ["a cap that is not an amount", { maxPricePerGpuHour: "abc" }, /maxPricePerGpuHour.*"abc" is not a decimal amount/],
    ["a negative cap", { maxPricePerGpuHour: "-1" }, /maxPricePerGpuHour.*"-1" is negative/],
    ["a zero cap", { maxPricePerGpuHour: "0" }, /^requirements\.maxPricePerGpuHour must be more than 0$/],
    ["zero GPUs", { gpuCount: 0 }, /^requirements\.gpuCount must be a whole number from 1 to \d+, got 0$/],
    ["an unknown model", { gpuModels: ["FOO9000"] }, /^requirements\.gpuModels: unknown GPU model FOO9000/],
    ["a duration of zero", { maxDurationSeconds: 0 }, /^requirements\.maxDurationSeconds must be a whole number from 1 to \d+, got 0$/],
    ["no cap", { maxPricePerGpuHour: null }, /^requirements\.maxPricePerGpuHour is required/],
    ["an unknown region", { region: "mars-north" }, /^unknown region "mars-north"; use one of: .*eu-central/],
    ["a latency bound without a region", { maxLatencyMs: 50 }, /^requirements\.maxLatencyMs needs requirements\.region/],
    ["redundancy of zero", { redundancy: 0 }, /^requirements\.redundancy must be a whole number from 1 to 10, got 0$/],
    ["a reputation above 1", { minReputation: 1.5 }, /^requirements\.minReputation must be a number from 0 to 1, got 1\.5$/],
    ["negative weights", { weights: { price: -1 } }, /^weights\.price must be a finite number of zero or more, got -1$/],
  ])("refuses %s with BAD_USER_INPUT and stores nothing", async (_what, requirements, says) => {
    const client = await actor(server, 100n);
    const r = await submit(client, jobInput("H100", requirements));
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    // the message names the field and what is wrong with it (a message of the wrong field, or none, fails)
    expect(r.errors![0].message).toMatch(says);
    const [row] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [client.accountId]);
    expect(row.n).toBe(0);
    expect((await escrow(client)).held).toBe(0n);
  });

  it("returns the first job for a repeated idempotency key, even concurrently, and refuses the key with other input", async () => {
    const client = await actor(server, 100n);
    const input = jobInput("H100", {}, { idempotencyKey: "order-42" });
    const results = await Promise.all(Array.from({ length: 10 }, () => submit(client, input)));
    const ids = new Set(results.map((r) => r.data?.submitJob?.id));
    expect(results.every((r) => !r.errors)).toBe(true);
    expect(ids.size).toBe(1);
    expect((await escrow(client)).held).toBe(3n * 10n ** 18n);
    const other = await submit(client, jobInput("H100", { gpuCount: 2 }, { idempotencyKey: "order-42" }));
    expect(codeOf(other)).toBe("CONFLICT");
    const [row] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [client.accountId]);
    expect(row.n).toBe(1);
  });

  it("cancels a pending job (releasing its hold) and a matched one (returning the GPUs); others may not", async () => {
    const m = freshModel();
    const p = await actor(server);
    const client = await actor(server, 100n);
    const stranger = await actor(server);
    const offer = await onlineOffer(server, p, m.gpu(4), "2", 4);
    const pending = (await submit(client, jobInput(m.model, { maxPricePerGpuHour: "1" }))).data!.submitJob.id;
    await untilStatus(client, pending, "PENDING", true);
    const forbidden = await gql(server.url, op("CancelJob"), { id: pending }, stranger.token);
    expect(codeOf(forbidden)).toBe("FORBIDDEN");
    const cancelled = await gql(server.url, op("CancelJob"), { id: pending }, client.token);
    expect(cancelled.data!.cancelJob).toEqual({ id: pending, status: "CANCELLED" });
    expect((await escrow(client)).held).toBe(0n);
    const again = await gql(server.url, op("CancelJob"), { id: pending }, client.token);
    expect(again.data!.cancelJob.status).toBe("CANCELLED");

    const matchedId = (await submit(client, jobInput(m.model, { gpuCount: 3 }))).data!.submitJob.id;
    const matched = await untilStatus(client, matchedId, "MATCHED");
    // matched on the one offer there is: its node, at its ask
    expect(matched.assignments.map((a) => [a.node.id, a.pricePerGpuHour])).toEqual([[offer.nodeId, "2"]]);
    expect((await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook.asks).toEqual([{ price: "2", gpus: 1, orders: 1 }]);
    await gql(server.url, op("CancelJob"), { id: matchedId }, client.token);
    expect((await gql(server.url, op("OrderBook"), { market: m.market })).data!.orderBook.asks).toEqual([{ price: "2", gpus: 4, orders: 1 }]);
    expect((await escrow(client)).held).toBe(0n);
    const j = await job(client, matchedId);
    expect(j.assignments[0].status).toBe("CANCELLED");
  });

  it("lists my jobs newest first with a cursor, and keeps other accounts' jobs private", async () => {
    const client = await actor(server, 100n);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(client, jobInput("H100", { maxPricePerGpuHour: "0.001" }))).data!.submitJob.id);
    const page1 = await gql(server.url, op("MyJobs"), { first: 2 }, client.token);
    expect(page1.data!.myJobs.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(page1.data!.myJobs.pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(server.url, op("MyJobs"), { first: 2, after: page1.data!.myJobs.pageInfo.endCursor }, client.token);
    expect(page2.data!.myJobs.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[0]]);
    const stranger = await actor(server);
    expect(codeOf(await gql(server.url, op("Job"), { id: ids[0] }, stranger.token))).toBe("FORBIDDEN");
    expect(codeOf(await gql(server.url, op("MyJobs"), {}))).toBe("UNAUTHENTICATED");
    expect(codeOf(await gql(server.url, op("MyJobs"), { after: "bogus" }, client.token))).toBe("BAD_USER_INPUT");
  });
});

describe("quote", () => {
  it("prices requirements against the book and says why offers were passed over", async () => {
    const m = freshModel();
    const small = freshModel(24);
    const p = await actor(server);
    await onlineOffer(server, p, m.gpu(8), "2", 8);
    await onlineOffer(server, p, m.gpu(8), "2.2", 8);
    await onlineOffer(server, p, m.gpu(8), "9", 8);
    await onlineOffer(server, p, small.gpu(8), "1", 8);
    const r = await gql(server.url, op("Quote"), {
      input: { gpuCount: 2, minVramGb: 40, gpuModels: [m.model, small.model], maxPricePerGpuHour: "3", maxDurationSeconds: 1800 },
    });
    expect(r.errors).toBeUndefined();
    expect(r.data!.quote).toMatchObject({ matchingOffers: 2, bestPricePerGpuHour: "2", estimatedCost: "2", maxCost: "3", expectedWaitSeconds: 0 });
    const reasons = Object.fromEntries(r.data!.quote.excluded.map((e: { reason: string; offers: number; message: string }) => [e.reason, e]));
    expect(reasons.VRAM).toMatchObject({ offers: 1, message: expect.stringMatching(/below 40 GB/) });
    expect(reasons.PRICE).toMatchObject({ offers: 1 });
  });

  it("refuses bad requirements", async () => {
    const r = await gql(server.url, op("Quote"), { input: { gpuCount: 0, minVramGb: 40, maxDurationSeconds: 60 } });
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
  });
});

describe("reconciler", () => {
  it("holds back the jobs of a client whose deposit a reorg removed, and places them once it deposits again", async () => {
    const m = freshModel();
    await onlineOffer(server, await actor(server), m.gpu(1), "5", 1);
    const client = await actor(server, 10n);
    const r = await submit(client, jobInput(m.model, { maxPricePerGpuHour: "3", maxDurationSeconds: 3600 }));
    const id = r.data!.submitJob.id as string;
    await untilStatus(client, id, "PENDING", true);
    // the chain took the deposit back (as a reorg or a dev chain restart does): 3 OGPU held, nothing deposited
    await server.system.db.query(`UPDATE escrow_balances SET deposited_wei = 0 WHERE account_id = $1`, [client.accountId]);
    await onlineOffer(server, await actor(server), m.gpu(1), "2", 1);
    await eventually(async () => {
      const [row] = await server.system.db.query(`SELECT status, status_message FROM jobs WHERE id = $1`, [id]);
      return row.status === "PENDING" && /no longer covers/.test(row.status_message ?? "") ? true : undefined;
    }, 10_000, "the job held back");
    expect((await job(client, id)).assignments).toEqual([]);
    // deposited again: the next attempt (the reconciler's, within RESTING_RETRY_MS, or a new offer's) places it
    await server.system.db.query(`UPDATE escrow_balances SET deposited_wei = $2 WHERE account_id = $1`, [client.accountId, (10n ** 19n).toString()]);
    await onlineOffer(server, await actor(server), m.gpu(1), "2.5", 1);
    await untilStatus(client, id, "MATCHED");
  });

  it("matches jobs whose queued tasks were flushed from Redis before any worker ran", async () => {
    const prefix = `gxr${Date.now() % 100000}`;
    const api = await startTestServer({ QUEUE_PREFIX: prefix }, { api: true, worker: false });
    try {
      const m = freshModel();
      const p = await actor(api);
      await onlineOffer(api, p, m.gpu(4), "2", 4);
      const client = await actor(api, 100n);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await gql(api.url, op("SubmitJob"), { input: jobInput(m.model) }, client.token)).data!.submitJob.id);
      const redis = new (await import("ioredis")).Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
      // queued after the submits answered (they do not wait for Redis)
      const keys = await eventually(async () => {
        const found = await redis.keys(`${prefix}:*`);
        return found.length > 0 ? found : undefined;
      }, 10_000, "the matching tasks in Redis");
      await redis.del(...keys);
      redis.disconnect();
      const worker = await startTestServer({ QUEUE_PREFIX: prefix, RECONCILE_MS: "200" }, { api: false, worker: true });
      try {
        for (const id of ids) {
          await eventually(async () => {
            const [row] = await api.system.db.query(`SELECT status FROM jobs WHERE id = $1`, [id]);
            return row.status === "MATCHED" ? true : undefined;
          }, 10_000, `job ${id} matched`);
        }
      } finally {
        await worker.stop();
      }
    } finally {
      await api.stop();
    }
  });
});

describe("the minimum provider stake", () => {
  it("passes over offers of providers staking less, with the STAKE reason", async () => {
    const staked = await startTestServer({ MIN_PROVIDER_STAKE: "100" });
    try {
      const m = freshModel();
      const p = await actor(staked);
      await onlineOffer(staked, p, m.gpu(2), "2", 2);
      const r = await gql(staked.url, op("Quote"), { input: { gpuCount: 1, minVramGb: 40, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 } });
      expect(r.data!.quote.matchingOffers).toBe(0);
      expect(r.data!.quote.excluded).toEqual(expect.arrayContaining([expect.objectContaining({ reason: "STAKE", offers: 1 })]));
      await staked.system.db.query(`INSERT INTO stakes (account_id, staked_wei) VALUES ($1, $2)`, [p.accountId, (100n * 10n ** 18n).toString()]);
      const after = await gql(staked.url, op("Quote"), { input: { gpuCount: 1, minVramGb: 40, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 } });
      expect(after.data!.quote.matchingOffers).toBe(1);
    } finally {
      await staked.stop();
    }
  });
});

describe("sources", () => {
  it("publishes versions by name, and a job with a sourceId takes its image, command and env defaults", async () => {
    const author = await actor(server);
    const input = { name: `sd-${Date.now()}`, kind: "IMAGE_GENERATION", image: "ghcr.io/example/sd:1", command: ["python", "gen.py"], env: [{ name: "STEPS", value: "30" }, { name: "SEED", value: "1" }] };
    const v1 = await gql(server.url, op("PublishSource"), { input }, author.token);
    expect(v1.errors).toBeUndefined();
    expect(v1.data!.publishSource).toMatchObject({ name: input.name, version: 1, image: "ghcr.io/example/sd:1", kind: "IMAGE_GENERATION" });
    const v2 = await gql(server.url, op("PublishSource"), { input: { ...input, image: "ghcr.io/example/sd:2" } }, author.token);
    expect(v2.data!.publishSource.version).toBe(2);
    const listed = await gql(server.url, op("Sources"), { first: 100 });
    expect(listed.data!.sources.edges.map((e: { node: { id: string } }) => e.node).find((n: { id: string }) => n.id === v2.data!.publishSource.id)).toMatchObject({ id: v2.data!.publishSource.id, version: 2, owner: { address: author.wallet.address } });
    expect(codeOf(await gql(server.url, op("PublishSource"), { input: { ...input, name: "bad name!" } }, author.token))).toBe("BAD_USER_INPUT");
    expect(codeOf(await gql(server.url, op("PublishSource"), { input }))).toBe("UNAUTHENTICATED");

    const client = await actor(server, 100n);
    const requirements = { gpuCount: 1, minVramGb: 24, maxPricePerGpuHour: "1", maxDurationSeconds: 60 };
    const job = await gql(
      server.url,
      op("SubmitJob"),
      { input: { kind: "IMAGE_GENERATION", sourceId: v1.data!.publishSource.id, env: [{ name: "SEED", value: "7" }], requirements } },
      client.token,
    );
    expect(job.errors).toBeUndefined();
    try {
      const stored = await gql(server.url, `query J($id: ID!) { job(id: $id) { image command env { name value } } }`, { id: job.data!.submitJob.id }, client.token);
      expect(stored.data!.job).toEqual({ image: "ghcr.io/example/sd:1", command: ["python", "gen.py"], env: [{ name: "STEPS", value: "30" }, { name: "SEED", value: "7" }] });
      const missing = await gql(server.url, op("SubmitJob"), { input: { kind: "OTHER", sourceId: "00000000-0000-0000-0000-000000000000", requirements } }, client.token);
      expect(codeOf(missing)).toBe("NOT_FOUND");
    } finally {
      // a job for any model rests on the bid side of every market: cancelled even when the test fails, so later test files see their own books
      expect((await gql(server.url, op("CancelJob"), { id: job.data!.submitJob.id }, client.token)).errors).toBeUndefined();
    }
  });
});

describe("escrow after a reorg", () => {
  it("shows nothing available, not an error, when a removed deposit had already been spent (a debt)", async () => {
    const client = await actor(server, 10n);
    await server.system.db.query(`UPDATE escrow_balances SET deposited_wei = 2000000000000000000, spent_wei = 5000000000000000000 WHERE account_id = $1`, [client.accountId]);
    const me = await gql(server.url, op("Me"), {}, client.token);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me.escrow).toEqual({ deposited: "2", held: "0", available: "0" });
    expect(codeOf(await submit(client, jobInput("H100", { maxPricePerGpuHour: "0.001" })))).toBe("INSUFFICIENT_FUNDS");
  });
});
