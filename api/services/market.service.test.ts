import type { DataSource } from "typeorm";
import type { BookCache } from "./book-cache";
import { MarketService } from "./market.service";

const OGPU = 10n ** 18n;

/** A database that answers the three reads behind market summaries, and counts the reads of a day of trades. */
function fakeDb() {
  const state = { lastPrice: (2n * OGPU).toString(), volume: 2, trades: [{ price_wei: (2n * OGPU).toString(), gpus: 2, executed_at: new Date(Date.now() - 60_000) }], tradeReads: 0 };
  const db = {
    query: async (sql: string) => {
      if (sql.includes("CROSS JOIN LATERAL")) {
        return [{ id: "L4-24GB", gpu_model: "NVIDIA L4", vram_gb: 24, sequence: "7", best_ask: (3n * OGPU).toString(), open_offers: 1, available: 4, offered: 8, best_bid: null, bid_gpus: 0 }];
      }
      if (sql.includes("AS last_price")) return [{ market: "L4-24GB", last_price: state.lastPrice, volume: state.volume }];
      if (sql.includes("SELECT price_wei, gpus, executed_at FROM trades")) {
        state.tradeReads++;
        return state.trades;
      }
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

    // a trade at 4: the last price and volume change, so the reference is computed again, from both trades
    state.trades.push({ price_wei: (4n * OGPU).toString(), gpus: 2, executed_at: new Date(Date.now() - 1_000) });
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
});
