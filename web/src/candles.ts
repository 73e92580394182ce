import { CandlesDocument, type CandlesQuery, type ExchangeClient } from "@gpu-exchange/sdk";
import { CandlestickSeries, ColorType, createChart, type CandlestickData, type UTCTimestamp } from "lightweight-charts";

const MINUTE = 60;

type Bar = CandlestickData<UTCTimestamp>;
const bar = (c: CandlesQuery["candles"][number]): Bar => ({ time: (Date.parse(c.openTime) / 1000) as UTCTimestamp, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) });

/**
 * One-minute candles of a market (the last 6 hours, then each trade as it comes) with lightweight-charts. Prices
 * are drawn as floats: the chart only shows them, nothing is computed from them.
 */
export function candleChart(host: HTMLElement, client: ExchangeClient, market: string): { trade(price: string, at: string): void; close(): void } {
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const chart = createChart(host, {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#e6e6e6" : "#1d1d1f" },
    grid: { vertLines: { color: dark ? "#333" : "#eee" }, horzLines: { color: dark ? "#333" : "#eee" } },
    timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 10 },
  });
  const series = chart.addSeries(CandlestickSeries, { upColor: "#1a7f37", downColor: "#c62828", borderVisible: false, wickUpColor: "#1a7f37", wickDownColor: "#c62828" });
  let last: Bar | undefined;
  const from = new Date(Date.now() - 6 * 3600_000).toISOString();
  void client.request(CandlesDocument, { market, interval: "ONE_MINUTE", from }).then(({ candles }) => {
    const data = candles.map(bar);
    series.setData(data);
    last = data.at(-1);
  }, () => undefined);
  return {
    trade(price, at) {
      const p = Number(price);
      const time = (Math.floor(Date.parse(at) / 1000 / MINUTE) * MINUTE) as UTCTimestamp;
      if (last && last.time > time) return;
      last = last && last.time === time ? { ...last, high: Math.max(last.high, p), low: Math.min(last.low, p), close: p } : { time, open: p, high: p, low: p, close: p };
      series.update(last);
    },
    close: () => chart.remove(),
  };
}
