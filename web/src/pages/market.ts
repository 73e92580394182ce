import { keepOrderBook, MarketPricesDocument, MarketTickerDocument, TradeExecutedDocument, TradesDocument, type OrderBook, type PriceLevel } from "@gpu-exchange/sdk";
import { candleChart } from "../candles";
import { depthChart } from "../depth";
import { amount, errorText, fill, h, statusLine, time } from "../dom";
import { publicClient } from "../session";

const LEVELS = 12;
const TAPE = 30;

function levelRows(levels: readonly PriceLevel[], side: "ask" | "bid") {
  if (!levels.length) return [h("tr", {}, h("td", { colspan: 3, class: "empty" }, side === "ask" ? "No offer" : "No resting job"))];
  return levels.slice(0, LEVELS).map((l) => h("tr", { class: side }, h("td", { class: "num" }, amount(l.price)), h("td", { class: "num" }, l.gpus), h("td", { class: "num" }, l.orders)));
}

function bookTable(caption: string, side: "ask" | "bid", id: string) {
  const body = h("tbody", { id });
  return { body, table: h("table", { class: `book ${side}s` }, h("caption", {}, caption), h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "Price"), h("th", { scope: "col", class: "num" }, "GPUs"), h("th", { scope: "col", class: "num" }, "Orders"))), body) };
}

/**
 * A market: the ticker, the live order book (snapshot + deltas through the SDK's book keeper, with the resync shown),
 * its depth chart, one-minute candles and the trade tape, all over subscriptions.
 */
export function marketPage(main: HTMLElement, [market]: string[]): () => void {
  const m = market!;
  const ticker = h("dl", { class: "ticker", "aria-label": "Ticker" });
  const bookStatus = statusLine("book-status", "Connecting to the book…");
  const resyncNote = h("p", { id: "book-resync", class: "status resync", role: "status", hidden: true });
  const asks = bookTable("Asks (offers)", "ask", "asks");
  const bids = bookTable("Bids (resting jobs)", "bid", "bids");
  const depthBox = h("figure", { class: "depth-box" }, h("figcaption", {}, "Depth"));
  const candleBox = h("div", { class: "candles", role: "img", "aria-label": `One-minute candles of ${m}` });
  const tape = h("tbody", { id: "tape" });
  fill(main,
    h("h1", {}, m), ticker,
    h("section", { class: "grid", "aria-label": "Order book" }, h("div", {}, h("h2", {}, "Order book"), h("div", { class: "row" }, bookStatus, h("button", { type: "button", class: "link", id: "book-reload", onclick: () => keeper.resync() }, "Reload snapshot")), resyncNote, h("div", { class: "books" }, asks.table, bids.table)), h("div", {}, depthBox)),
    h("section", { "aria-label": "Candles" }, h("h2", {}, "Candles (1 min)"), candleBox),
    h("section", { "aria-label": "Trades" }, h("h2", {}, "Trades"), h("div", { class: "scroll tape" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col", class: "num" }, "Price"), h("th", { scope: "col", class: "num" }, "GPUs"))), tape))));

  const tick = { bestAsk: null as string | null, bestBid: null as string | null, lastPrice: null as string | null, volume24h: null as number | null, referencePrice: null as string | null, suggestedPrice: null as string | null };
  const drawTicker = () => fill(ticker, ...([["Best ask", amount(tick.bestAsk)], ["Best bid", amount(tick.bestBid)], ["Last", amount(tick.lastPrice)], ["GPUs traded 24 h", tick.volume24h ?? "–"], ["Reference", amount(tick.referencePrice)], ["Suggested ask", amount(tick.suggestedPrice)]] as const).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { class: "num" }, v))));
  drawTicker();
  void publicClient.request(MarketPricesDocument, { market: m }).then(({ market: p }) => {
    if (p) Object.assign(tick, { bestAsk: tick.bestAsk ?? p.bestAsk, bestBid: tick.bestBid ?? p.bestBid, lastPrice: tick.lastPrice ?? p.lastPrice, volume24h: tick.volume24h ?? p.volume24h, referencePrice: p.referencePrice, suggestedPrice: p.suggestedPrice });
    drawTicker();
  }, () => undefined);

  let resyncs = 0;
  const drawBook = (book: OrderBook) => {
    fill(asks.body, levelRows(book.asks, "ask"));
    fill(bids.body, levelRows(book.bids, "bid"));
    depthBox.querySelector("svg")?.remove();
    depthBox.append(depthChart(book));
    bookStatus.textContent = `Live · sequence ${book.sequence}`;
    bookStatus.className = "status live";
  };
  const keeper = keepOrderBook(publicClient, m, {
    onChange: drawBook,
    onResync: (r) => {
      if (r.reason === "start") return;
      resyncs++;
      const why = r.reason === "gap" ? `a missed update (sequence ${r.at} then ${r.got})` : r.reason === "stale" ? `the book was behind the market (sequence ${r.at} of ${r.got})` : r.reason === "feed-restarted" ? "the live feed reconnected" : "you asked";
      resyncNote.textContent = `Reloaded a snapshot ${resyncs}× · last at ${time(new Date().toISOString())}: ${why}`;
      resyncNote.hidden = false;
    },
    onError: (e) => {
      bookStatus.textContent = `Reconnecting to the book: ${errorText(e)}`;
      bookStatus.className = "status resync";
    },
  });

  const candles = candleChart(candleBox, publicClient, m);
  const tapeRow = (t: { price: string; gpus: number; executedAt: string }) => h("tr", {}, h("td", {}, time(t.executedAt)), h("td", { class: "num" }, amount(t.price)), h("td", { class: "num" }, t.gpus));
  void publicClient.request(TradesDocument, { market: m, first: TAPE }).then(({ trades }) => {
    if (!tape.children.length) fill(tape, trades.edges.length ? trades.edges.map((e) => tapeRow(e.node)) : h("tr", { class: "none" }, h("td", { colspan: 3, class: "empty" }, "No trade yet")));
  }, () => undefined);
  const stops = [
    publicClient.subscribe(TradeExecutedDocument, { market: m }, {
      next: ({ tradeExecuted: t }) => {
        tape.querySelector("tr.none")?.remove();
        tape.prepend(tapeRow(t));
        while (tape.children.length > TAPE) tape.lastElementChild!.remove();
        candles.trade(t.price, t.executedAt);
      },
    }),
    publicClient.subscribe(MarketTickerDocument, { market: m }, {
      next: ({ marketTicker: t }) => {
        Object.assign(tick, { bestAsk: t.bestAsk, bestBid: t.bestBid, lastPrice: t.lastPrice, volume24h: t.volume24h });
        drawTicker();
      },
    }),
  ];
  return () => {
    keeper.close();
    for (const stop of stops) stop();
    candles.close();
  };
}
