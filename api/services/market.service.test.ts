import type { DataSource } from "typeorm";
import type { BookCache } from "./book-cache";
import { MarketService } from "./market.service";

const OGPU = 10n ** 18n;

const CLIENT = "00000000-0000-4000-8000-00000000000c";
const PROVIDER = "00000000-0000-4000-8000-00000000000d";

/** A database that answers the reads behind market summaries, and counts the reads of a day of trades. */
function fakeDb() {
  const trade = (priceOgpu: bigint, agoMs: number, clientId = CLIENT, providerId = PROVIDER) => ({
    price_wei: (priceOgpu * OGPU).toString(),
    gpus: 2,
    executed_at: new Date(Date.now() - agoMs),
    client_id: clientId,
    provider_id: providerId,
  });
  const state = {
    lastPrice: (2n * OGPU).toString(),
    volume: 2,
    trades: [trade(2n, 60_000)],
    bids: [] as { gpus: number; hold_wei: string; resting_since: Date; min_vram_gb: number; gpu_models: string[] | null }[],
    addresses: [
      { account_id: CLIENT, address: "0x000000000000000000000000000000000000000c" },
      { account_id: PROVIDER, address: "0x000000000000000000000000000000000000000d" },
    ],
    tradeReads: 0,
    trade,
  };
  const db = {
    query: async (sql: string) => {
      if (sql.includes("CROSS JOIN LATERAL")) {
        return [{ id: "L4-24GB", gpu_model: "NVIDIA L4", vram_gb: 24, sequence: "7", best_ask: (3n * OGPU).toString(), open_offers: 1, available: 4, offered: 8, best_bid: null, bid_gpus: 0 }];
      }
      if (sql.includes("AS last_price")) return [{ market: "L4-24GB", last_price: state.lastPrice, volume: state.volume }];
      if (sql.includes("AS resting_since")) return state.bids;
      if (sql.includes("JOIN offers o ON o.id = t.offer_id")) {
        state.tradeReads++;
        return state.trades;
      }
      if (sql.includes("FROM accounts a WHERE a.id = ANY")) return state.addresses;
      throw new Error(`unexpected query: ${sql.slice(0, 80)}`);
    },
  } as unknown as DataSource;
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
    state.lastPrice = (4n * OGPU).toString();
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
    state.addresses.push({ account_id: PROVIDER, address: "0x000000000000000000000000000000000000000c" });
    const [market] = await new MarketService(db, {} as BookCache).list();
    expect(market.lastPriceWei).toBe(2n * OGPU);
    expect(market.referencePriceWei).toBe(3n * OGPU);
  });

  it("counts resting bids by escrow and time rested", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "queueMicrotask"], now: new Date("2026-11-24T12:00:00Z") });
    const { db, state } = fakeDb();
    const bid = (gpus: number, holdOgpu: bigint, restedMs: number, gpuModels: string[] | null = null) => ({
      gpus,
      hold_wei: (holdOgpu * OGPU).toString(),
      resting_since: new Date(Date.now() - restedMs),
      min_vram_gb: 16,
      gpu_models: gpuModels,
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
