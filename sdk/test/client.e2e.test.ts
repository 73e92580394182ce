import { getBytes, Wallet, type HDNodeWallet } from "ethers";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { creditEscrow } from "../../api/db/repositories/escrow.repository";
import { actor, eventually, freshModel } from "../../api/test/builders";
import { startTestServer, type TestServer } from "../../api/test/harness";
import {
  apiKeyAuth,
  bookFromSnapshot,
  CancelJobDocument,
  CancelOfferDocument,
  createNodeClient,
  ExchangeError,
  HeartbeatDocument,
  JobProgressDocument,
  keepOrderBook,
  MeDocument,
  orderBookDeltas,
  OrderBookDocument,
  PostOfferDocument,
  RegisterNodeDocument,
  RepriceOfferDocument,
  sameBook,
  SubmitJobDocument,
  walletAuth,
  type BookDelta,
  type DeltaSource,
  type ExchangeClient,
  type JobProgressEvent,
  type Resync,
  type Session,
} from "../src/node";
import { signInAndReadAccount } from "../examples/sign-in";
import { watchBook } from "../examples/keep-book";

jest.setTimeout(120_000);

let server: TestServer;
const clients: ExchangeClient[] = [];
const client = (c: ExchangeClient) => (clients.push(c), c);

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});

/** An ethers Wallet as an EIP-1193 provider (as a browser wallet is), counting its signatures. */
function eip1193(wallet: HDNodeWallet, chainId = 31337) {
  const provider = {
    signatures: 0,
    async request({ method, params }: { method: string; params?: readonly unknown[] | object }): Promise<unknown> {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [wallet.address];
      if (method === "eth_chainId") return `0x${chainId.toString(16)}`;
      if (method === "personal_sign") {
        const [data, address] = params as [string, string];
        if (address !== wallet.address) throw new Error(`asked to sign for ${address}`);
        provider.signatures++;
        return wallet.signMessage(getBytes(data));
      }
      throw new Error(`unsupported ${method}`);
    },
  };
  return provider;
}

/** A market with no open offer (a market is born with its first offer: one posted and cancelled), where jobs rest. */
async function emptyMarket(): Promise<string> {
  const m = freshModel(80);
  const provider = client(createNodeClient({ url: server.url, auth: apiKeyAuth((await actor(server)).token) }));
  const { registerNode } = await provider.request(RegisterNodeDocument, { input: { name: "idle-rig", region: "eu-central", gpus: [m.gpu(1)] } });
  const { postOffer } = await provider.request(PostOfferDocument, { input: { nodeId: registerNode.id, pricePerGpuHour: "9", gpuCount: 1 } });
  await provider.request(CancelOfferDocument, { id: postOffer.id });
  return m.model;
}

let restingModel: string;

async function pendingJob(c: ExchangeClient): Promise<string> {
  restingModel ??= await emptyMarket();
  const requirements = { gpuCount: 1, minVramGb: 80, gpuModels: [restingModel], maxPricePerGpuHour: "3", maxDurationSeconds: 600 };
  const { submitJob } = await c.request(SubmitJobDocument, { input: { kind: "BATCH", command: ["true"], requirements } });
  return submitJob.id;
}

function progressOf(c: ExchangeClient, jobId: string) {
  const events: JobProgressEvent[] = [];
  let ended: "complete" | ExchangeError | undefined;
  c.subscribe(JobProgressDocument, { jobId }, { next: (d) => events.push(d.jobProgress), error: (e) => (ended = e), complete: () => (ended = "complete") });
  return { events, ended: () => ended };
}

describe("wallet sign-in", () => {
  const wallet = Wallet.createRandom();

  it("signs in with an ethers Wallet wrapped as an EIP-1193 provider, over HTTP and over WebSocket", async () => {
    const provider = eip1193(wallet);
    const sessions: Session[] = [];
    const c = client(createNodeClient({ url: server.url, auth: walletAuth({ signer: provider, onSession: (s) => sessions.push(s) }) }));
    const { me } = await c.request(MeDocument, {});
    expect(me.address.toLowerCase()).toBe(wallet.address.toLowerCase());
    expect(sessions.map((s) => s.address)).toEqual([wallet.address]);

    const [row] = await server.system.db.query(`SELECT id FROM accounts WHERE address = $1`, [wallet.address.toLowerCase()]);
    await creditEscrow(server.system.db, row.id, 100n * 10n ** 18n);
    const jobId = await pendingJob(c);
    const progress = progressOf(c, jobId);
    await eventually(async () => (progress.events.length > 0 ? true : undefined), 20_000, "the job's state over the socket");
    expect(progress.events[0]).toMatchObject({ jobId, status: "PENDING" });
    await c.request(CancelJobDocument, { id: jobId });
    await eventually(async () => (progress.ended() ? true : undefined), 20_000, "the feed to end with the job");
    expect(progress.ended()).toBe("complete");
    expect(progress.events.at(-1)).toMatchObject({ status: "CANCELLED" });
    expect(provider.signatures).toBe(1);
  });

  it("signs in again when the API refuses the session: over HTTP (UNAUTHENTICATED) and over WebSocket (closed 4403)", async () => {
    const refused: Session = { token: "a-session-the-server-never-issued", address: wallet.address, expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    const overHttp = eip1193(wallet);
    const h = client(createNodeClient({ url: server.url, auth: walletAuth({ signer: overHttp, session: refused }) }));
    expect((await h.request(MeDocument, {})).me.address.toLowerCase()).toBe(wallet.address.toLowerCase());
    expect(overHttp.signatures).toBe(1);

    const jobId = await pendingJob(h);
    const overWs = eip1193(wallet);
    const w = client(createNodeClient({ url: server.url, auth: walletAuth({ signer: overWs, session: refused }) }));
    const progress = progressOf(w, jobId);
    await eventually(async () => (progress.events.length > 0 ? true : undefined), 30_000, "the job's state after signing in again");
    expect(progress.events[0]).toMatchObject({ jobId, status: "PENDING" });
    expect(overWs.signatures).toBe(1);
    await h.request(CancelJobDocument, { id: jobId });
  });

  it("gives the server's code and message as a typed error: a wallet on another chain, another's job", async () => {
    const c = client(createNodeClient({ url: server.url, auth: walletAuth({ signer: eip1193(Wallet.createRandom(), 1) }) }));
    const refused = await c.request(MeDocument, {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ExchangeError);
    expect(refused).toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/switch the wallet's network/) });

    const other = client(createNodeClient({ url: server.url, auth: apiKeyAuth((await actor(server)).token) }));
    const progress = progressOf(other, "00000000-0000-4000-8000-000000000000");
    await eventually(async () => (progress.ended() ? true : undefined), 20_000, "the subscription to be refused");
    expect(progress.ended()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("runs the README's sign-in example", async () => {
    const kept: Session[] = [];
    const wallet2 = Wallet.createRandom();
    const { client: c, address, availableOgpu } = await signInAndReadAccount(server.url, eip1193(wallet2), (s) => kept.push(s));
    clients.push(c);
    expect(address.toLowerCase()).toBe(wallet2.address.toLowerCase());
    expect(availableOgpu).toBe("0");
    expect(kept).toHaveLength(1);
  });
});

describe("keeping a book", () => {
  let provider: ExchangeClient;
  let reader: ExchangeClient;
  let nodeId: string;
  const m = freshModel(80);

  beforeAll(async () => {
    provider = client(createNodeClient({ url: server.url, auth: apiKeyAuth((await actor(server)).token) }));
    reader = client(createNodeClient({ url: server.url }));
    const { registerNode } = await provider.request(RegisterNodeDocument, { input: { name: "book-rig", region: "eu-central", gpus: [m.gpu(64)] } });
    nodeId = registerNode.id;
    await provider.request(HeartbeatDocument, { nodeId });
  });

  const post = async (price: string, gpus = 1) => (await provider.request(PostOfferDocument, { input: { nodeId, pricePerGpuHour: price, gpuCount: gpus } })).postOffer.id;
  const snapshot = async () => bookFromSnapshot((await reader.request(OrderBookDocument, { market: m.market, depth: 500 })).orderBook);

  /** A delta source that passes every delta on except the ones `drop` picks, and records all it saw. */
  function dropping(drop: (d: BookDelta) => boolean) {
    const seen: BookDelta[] = [];
    const dropped: BookDelta[] = [];
    const source: DeltaSource = (market, observer) =>
      orderBookDeltas(reader)(market, {
        ...observer,
        next: (d) => {
          seen.push(d);
          if (drop(d)) dropped.push(d);
          else observer.next(d);
        },
      });
    return { source, seen, dropped };
  }

  /** Posts probe offers until deltas reach this feed: the server's subscription is live from then on. */
  async function untilLive(seen: BookDelta[], price: string) {
    for (let i = 0; i < 10 && seen.length === 0; i++) {
      await post(price);
      await eventually(async () => (seen.length > 0 ? true : undefined), 3_000, "a delta").catch(() => undefined);
    }
    expect(seen.length).toBeGreaterThan(0);
  }

  it("detects a dropped delta by the gap after it, loads a new snapshot, and ends equal to a fresh snapshot", async () => {
    let arm = false;
    const feed = dropping(() => {
      if (!arm) return false;
      arm = false;
      return true;
    });
    const resyncs: Resync[] = [];
    const keeper = keepOrderBook(reader, m.market, { deltas: feed.source, verifyMs: 0, onResync: (r) => resyncs.push(r) });
    try {
      await keeper.until(() => true);
      await untilLive(feed.seen, "2");
      const live = BigInt(feed.seen.at(-1)!.sequence);
      await keeper.until((b) => b.sequence >= live);
      const before = resyncs.length;

      arm = true;
      const b = await post("2.5");
      await eventually(async () => (feed.dropped.length === 1 ? true : undefined), 20_000, "the delta of the 2.5 offer to be dropped");
      expect(feed.dropped[0]).toMatchObject({ side: "ASK", price: "2.5", gpus: 1 });
      expect(keeper.book!.asks.some((l) => l.price === "2.5")).toBe(false);

      const c = await post("3", 2);
      await keeper.until((book) => book.asks.some((l) => l.price === "2.5"));
      const droppedAt = BigInt(feed.dropped[0].sequence);
      expect(resyncs.slice(before)).toContainEqual({ reason: "gap", at: droppedAt - 1n, got: droppedAt + 1n });

      await provider.request(CancelOfferDocument, { id: b });
      await provider.request(RepriceOfferDocument, { id: c, pricePerGpuHour: "2.75" });
      const fresh = await eventually(async () => {
        const s = await snapshot();
        return keeper.book!.sequence === s.sequence && s.asks.some((l) => l.price === "2.75") ? s : undefined;
      }, 30_000, "the keeper at the server's sequence");
      expect(sameBook(keeper.book!, fresh)).toBe(true);
      expect(fresh.asks.map((l) => [l.price, l.gpus])).toEqual(expect.arrayContaining([["2.75", 2]]));
      expect(fresh.asks.some((l) => l.price === "2.5")).toBe(false);
    } finally {
      keeper.close();
    }
  });

  it("reloads a book left behind by a last delta lost with none after it (the periodic check)", async () => {
    let arm = false;
    const feed = dropping((d) => arm && d.price === "4.5");
    const resyncs: Resync[] = [];
    const keeper = keepOrderBook(reader, m.market, { deltas: feed.source, verifyMs: 200, onResync: (r) => resyncs.push(r) });
    try {
      await keeper.until(() => true);
      await untilLive(feed.seen, "4");
      arm = true;
      await post("4.5");
      await eventually(async () => (feed.dropped.length === 1 ? true : undefined), 20_000, "the last delta to be dropped");
      await keeper.until((book) => book.asks.some((l) => l.price === "4.5"));
      expect(resyncs.map((r) => r.reason)).toContain("stale");
      expect(sameBook(keeper.book!, await snapshot())).toBe(true);
    } finally {
      keeper.close();
    }
  });

  it("runs the README's book example", async () => {
    const lines: string[] = [];
    const keeper = watchBook(reader, m.market, (l) => lines.push(l));
    try {
      await keeper.until(() => true);
      expect(lines[0]).toBe(`${m.market}: loaded a snapshot (start)`);
      await post("1.25");
      await eventually(async () => (lines.some((l) => l.includes("ask 1.25 /")) ? true : undefined), 60_000, "the new best ask on the watcher (at worst found by its periodic check)");
    } finally {
      keeper.close();
    }
  });
});

it("the README carries every example as it is run here", () => {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  for (const file of ["sign-in.ts", "keep-book.ts", "submit-job.ts"]) expect(readme).toContain(readFileSync(join(__dirname, "..", "examples", file), "utf8").trim());
});
