import fc from "fast-check";
import { buildCandles, CANDLE_INTERVAL_MS, type CandleInterval } from "./candles";
import { PricingError } from "./errors";
import type { TradePoint } from "./reference";

const t = (priceWei: bigint, gpus: number, executedAtMs: number): TradePoint => ({ priceWei, gpus, executedAtMs });

describe("buildCandles", () => {
  it("buckets by minute from the epoch, open/close by time then input order", () => {
    const trades = [t(30n, 1, 61_000), t(10n, 2, 60_000), t(50n, 1, 119_999), t(20n, 4, 60_000), t(5n, 1, 240_500)];
    expect(buildCandles(trades, "ONE_MINUTE", 0, 300_000)).toEqual([
      { openTimeMs: 60_000, openWei: 10n, highWei: 50n, lowWei: 10n, closeWei: 50n, volumeGpus: 8, trades: 4 },
      { openTimeMs: 240_000, openWei: 5n, highWei: 5n, lowWei: 5n, closeWei: 5n, volumeGpus: 1, trades: 1 },
    ]);
  });
  it("takes from inclusive and to exclusive", () => {
    const trades = [t(1n, 1, 59_999), t(2n, 1, 60_000), t(3n, 1, 120_000)];
    expect(buildCandles(trades, "ONE_MINUTE", 60_000, 120_000).map((c) => [c.openTimeMs, c.trades])).toEqual([[60_000, 1]]);
    expect(buildCandles(trades, "ONE_HOUR", 59_999, 60_000)).toEqual([expect.objectContaining({ openTimeMs: 0, trades: 1, openWei: 1n })]);
    expect(buildCandles(trades, "ONE_DAY", 5, 5)).toEqual([]);
  });
  it("aligns days to UTC midnight", () => {
    const day = CANDLE_INTERVAL_MS.ONE_DAY;
    const at = Date.UTC(2026, 10, 24, 23, 59);
    expect(buildCandles([t(1n, 1, at)], "ONE_DAY", 0, at + 1)[0].openTimeMs).toBe(Date.UTC(2026, 10, 24));
    expect(Date.UTC(2026, 10, 24) % day).toBe(0);
  });
  it("refuses a window that is not finite", () => {
    expect(() => buildCandles([], "ONE_MINUTE", 0, Number.POSITIVE_INFINITY)).toThrow(PricingError);
  });
  it("conserves volume and trades, with high ≥ open, close ≥ low, ascending buckets", () => {
    const trade = fc.record({ priceWei: fc.bigInt({ min: 0n, max: 1000n }), gpus: fc.integer({ min: 0, max: 8 }), executedAtMs: fc.integer({ min: -400_000, max: 4_000_000 }) });
    const interval = fc.constantFrom<CandleInterval>("ONE_MINUTE", "FIVE_MINUTES", "ONE_HOUR", "ONE_DAY");
    fc.assert(
      fc.property(fc.array(trade), interval, fc.integer({ min: -500_000, max: 4_000_000 }), fc.integer({ min: 0, max: 5_000_000 }), (trades, iv, from, span) => {
        const to = from + span;
        const candles = buildCandles(trades, iv, from, to);
        const inside = trades.filter((x) => x.executedAtMs >= from && x.executedAtMs < to);
        expect(candles.reduce((s, c) => s + c.trades, 0)).toBe(inside.length);
        expect(candles.reduce((s, c) => s + c.volumeGpus, 0)).toBe(inside.reduce((s, x) => s + x.gpus, 0));
        const width = CANDLE_INTERVAL_MS[iv];
        for (let i = 0; i < candles.length; i++) {
          const c = candles[i];
          expect(c.trades).toBeGreaterThan(0);
          expect(c.openTimeMs % width === 0).toBe(true);
          if (i > 0) expect(candles[i - 1].openTimeMs).toBeLessThan(c.openTimeMs);
          expect(c.highWei >= c.openWei && c.highWei >= c.closeWei).toBe(true);
          expect(c.lowWei <= c.openWei && c.lowWei <= c.closeWei).toBe(true);
          const members = inside.filter((x) => Math.floor(x.executedAtMs / width) * width === c.openTimeMs);
          expect(members.length).toBe(c.trades);
        }
        expect(buildCandles([...trades].reverse(), iv, from, to).map((c) => [c.openTimeMs, c.highWei, c.lowWei, c.volumeGpus])).toEqual(
          candles.map((c) => [c.openTimeMs, c.highWei, c.lowWei, c.volumeGpus]),
        );
      }),
    );
  });
});
