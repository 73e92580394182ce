import type { DataSource } from "typeorm";
import type { BookCache } from "./book-cache";
import type { PartyTradeRecord, RestingBidRecord } from "../db/repositories/trade.repository";
import { MarketService } from "./market.service";

const OGPU = 10n ** 18n;

const CLIENT = "00000000-0000-4000-8000-00000000000c";
const PROVIDER = "00000000-0000-4000-8000-00000000000d";

/** The repositories' answers behind market summaries (in memory), counting the reads of a day of trades. */
function fakeState() {
  const trade = (priceOgpu: bigint, agoMs: number, clientId = CLIENT, providerId = PROVIDER): PartyTradeRecord => ({
    priceWei: priceOgpu * OGPU,
    gpus: 2,
    executedAtMs: Date.now() - agoMs,
    clientId,
    providerId,
  });
  return {
    lastPrice: 2n * OGPU,
    volume: 2,
    trades: [trade(2n, 60_000)],
    bids: [] as RestingBidRecord[],
    addresses: [
      { accountId: CLIENT, address: "0x000000000000000000000000000000000000000c" },
      { accountId: PROVIDER, address: "0x000000000000000000000000000000000000000d" },
    ],
    tradeReads: 0,
    trade,
  };
}

let state = fakeState();

jest.mock("../db/repositories/market.repository", () => ({
  marketBooks: async () => [
    { id: "L4-24GB", gpuModel: "NVIDIA L4", vramGb: 24, sequence: 7n, bestAskWei: 3n * 10n ** 18n, openOffers: 1, availableGpus: 4, offeredGpus: 8, bestBidWei: null, bidGpus: 0 },
  ],
}));
jest.mock("../db/repositories/trade.repository", () => ({
  ...jest.requireActual("../db/repositories/trade.repository"),
  marketTradeStats: async () => new Map([["L4-24GB", { market: "L4-24GB", lastPriceWei: state.lastPrice, volume24hGpus: state.volume }]]),
  restingBids: async () => state.bids,
  partyTrades: async () => (state.tradeReads++, [...state.trades]),
  latestPartyTrades: async () => (state.tradeReads++, [...state.trades]),
}));
jest.mock("../db/repositories/related-accounts", () => ({
  ...jest.requireActual("../db/repositories/related-accounts"),
  accountAddresses: async () => state.addresses,
}));

/** The service's database is never reached: every read goes through the repositories above. */
const db = {} as DataSource;

function fakeDb() {
  state = fakeState();
  return { db, state };
}

describe("MarketService reference prices", () => {
  afterEach(() => jest.useRealTimers());

  it("reads a market's day of trades once while its last price and volume stay the same, and again when they change or after 5 s", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "queueMicrotask"], now: new Date("2026-11-24T12:00:00Z") });
    const { db, state } = fakeDb();
    const markets = new MarketService(db, {} as BookCache);
    const first = await markets.list();
    await markets.list();
    await markets.byId("L4-24GB");
    expect(state.tradeReads).toBe(1);
    expect(first[0].suggestedPriceWei).not.toBeNull();

    // a trade at 4: the last price and volume change, so the reference is computed again, from both trades (one pair:
    // its volume-weighted price, the trade at 4 clipped to 10% above the median)
    state.trades.push(state.trade(4n, 1_000));
    state.lastPrice = 4n * OGPU;
    state.volume = 4;
    const after = await markets.list();
    expect(state.tradeReads).toBe(2);
    expect(after[0].suggestedPriceWei).toBeGreaterThan(first[0].suggestedPriceWei!);

    jest.advanceTimersByTime(5_000);
    await markets.list();
    expect(state.tradeReads).toBe(3);
  });

  it("leaves the reference out of the ticker, which does not read the day of trades", async () => {
    const { db, state } = fakeDb();
    const markets = new MarketService(db, {} as BookCache);
    const ticker = await markets.ticker("L4-24GB");
    expect(ticker).toMatchObject({ market: "L4-24GB", bestAskWei: 3n * OGPU, lastPriceWei: 2n * OGPU, volume24hGpus: 2 });
    expect(state.tradeReads).toBe(0);
  });

  it("gives trades between accounts sharing an address no weight, falling back to the best ask", async () => {
    const { db, state } = fakeDb();
    state.addresses.push({ accountId: PROVIDER, address: "0x000000000000000000000000000000000000000c" });
    const [market] = await new MarketService(db, {} as BookCache).list();
    expect(market.lastPriceWei).toBe(2n * OGPU);
    expect(market.referencePriceWei).toBe(3n * OGPU);
  });

  it("counts resting bids by escrow and time rested", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "queueMicrotask"], now: new Date("2026-11-24T12:00:00Z") });
    const { db, state } = fakeDb();
    const bid = (gpus: number, holdOgpu: bigint, restedMs: number, gpuModels: string[] | null = null): RestingBidRecord => ({
      gpus,
      holdWei: holdOgpu * OGPU,
      restingSinceMs: Date.now() - restedMs,
      minVramGb: 16,
      gpuModels,
    });
    // reference 2: 4 GPUs backed for an hour and rested 10 minutes count 4; 64 GPUs rested 2 s count nothing;
    // 8 GPUs holding 4 OGPU (2 GPU-hours at 2) rested 5.5 minutes count 2 x 0.5; a bid for another model not at all
    state.bids = [bid(4, 8n, 600_000), bid(64, 1000n, 2_000), bid(8, 4n, 330_000), bid(8, 100n, 600_000, ["NVIDIA A100"])];
    const [market] = await new MarketService(db, {} as BookCache).list();
    expect(market.referencePriceWei).toBe(2n * OGPU);
    expect(market.demandGpus).toBe(5);
    // utilization 0.5, imbalance (5 - 4) / 9: factor = 1 + 0.5 x (0.5 - 0.7) + 0.25 / 9 = 0.92777... -> 9278 bps
    expect(market.suggestedFactorBps).toBe(9_278);
  });
});
