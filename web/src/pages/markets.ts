import { MarketsDocument } from "@gpu-exchange/sdk";
import { amount, errorText, fill, h, percent, statusLine } from "../dom";
import { publicClient } from "../session";

/** Markets: every market with its best ask and bid, last price, 24 h volume, offers, free GPUs and utilization. */
export function marketsPage(main: HTMLElement): () => void {
  const status = statusLine("markets-status", "Loading markets…");
  const body = h("tbody");
  fill(main, h("h1", {}, "Markets"), h("p", { class: "lead" }, "GPU compute by the hour, in OGPU per GPU-hour. Open a market for its live book, candles and trades."), status,
    h("div", { class: "scroll" }, h("table", { class: "markets" }, h("caption", { class: "sr-only" }, "Markets"),
      h("thead", {}, h("tr", {}, ...["Market", "Best ask", "Best bid", "Last", "GPUs traded 24 h", "Offers", "Free GPUs", "Utilization"].map((c, i) => h("th", { scope: "col", class: i ? "num" : "" }, c)))), body)));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async () => {
    try {
      const { markets } = await publicClient.request(MarketsDocument, {});
      fill(body, markets.map((m) => h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `/market/${encodeURIComponent(m.id)}`, "data-link": true }, m.id)),
        h("td", { class: "num ask" }, amount(m.bestAsk)), h("td", { class: "num bid" }, amount(m.bestBid)), h("td", { class: "num" }, amount(m.lastPrice)),
        h("td", { class: "num" }, m.volume24h), h("td", { class: "num" }, m.openOffers), h("td", { class: "num" }, m.availableGpus), h("td", { class: "num" }, percent(m.utilization)))));
      status.textContent = markets.length ? `${markets.length} market${markets.length === 1 ? "" : "s"}` : "No market yet: a market opens when a provider registers GPUs of a model.";
    } catch (e) {
      status.textContent = `Could not load the markets: ${errorText(e)}`;
    }
    if (!stopped) timer = setTimeout(load, 10_000);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
