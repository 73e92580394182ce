import { decimalToUnits, MarketPricesDocument, MyNodesConsoleDocument, RepriceOfferDocument, unitsToDecimal, type MarketPricesQuery, type MyNodesConsoleQuery } from "@gpu-exchange/sdk";
import { nodeChecklist } from "../checklist";
import { amount, errorText, fill, h, percent, statusLine, time } from "../dom";
import { myAccount, onSignedIn, type Account, type SignedIn } from "../session";

type NodeRow = MyNodesConsoleQuery["myNodes"][number];
type Prices = NonNullable<MarketPricesQuery["market"]>;

function offerRow(s: SignedIn, o: NodeRow["offers"][number], p: Prices | undefined, reload: () => void) {
  const id = `price-${o.id}`;
  const input = h("input", { id, name: "price", inputmode: "decimal", value: o.pricePerGpuHour, size: 8, "aria-label": `New price of offer ${o.id.slice(0, 8)} (OGPU per GPU-hour)` });
  const note = h("span", { role: "status", class: "muted" });
  const form = h("form", { class: "row", onsubmit: async (event: Event) => {
    event.preventDefault();
    note.textContent = "Repricing…";
    try {
      const { updateOffer } = await s.client.request(RepriceOfferDocument, { id: o.id, pricePerGpuHour: input.value.trim() });
      note.textContent = `Repriced to ${amount(updateOffer.pricePerGpuHour)}`;
      reload();
    } catch (e) {
      note.textContent = errorText(e);
    }
  } }, input, h("button", { type: "submit" }, "Reprice"),
  p?.suggestedPrice ? h("button", { type: "button", class: "secondary", onclick: () => (input.value = p.suggestedPrice!) }, `Use suggested ${amount(p.suggestedPrice)}`) : null, note);
  const cells: [string, string | HTMLElement, string][] = [["Market", o.market, ""], ["Free / GPUs", `${o.availableGpus} / ${o.gpuCount}`, "num"], ["Price", amount(o.pricePerGpuHour), "num"], ["Suggested", amount(p?.suggestedPrice), "num"], ["Reference", amount(p?.referencePrice), "num"], ["State", o.withdrawn ? "off the book (node offline)" : o.status, ""], ["Reprice", form, ""]];
  return h("tr", { "data-offer": o.id }, cells.map(([label, content, cls]) => h("td", { class: cls, "data-label": label }, content)));
}

function nodeCard(s: SignedIn, n: NodeRow, prices: Map<string, Prices>, account: Account | undefined, reload: () => void) {
  const facts: [string, string][] = [["Status", n.status], ["Region", n.region], ["GPUs", n.gpus.map((g) => `${g.count} × ${g.model} (${g.vramGb} GB)`).join(", ")], ["GPU utilization", n.gpuUtilization === null ? "not reported" : percent(n.gpuUtilization)], ["GPU temperature", n.gpuTemperatureC === null ? "not reported" : `${n.gpuTemperatureC} °C`], ["Last heartbeat", time(n.lastHeartbeatAt)], ["Agent", n.agentVersion ?? "–"], ["Earnings settled", `${amount(n.earnings?.settled)} OGPU`], ["Earnings pending", `${amount(n.earnings?.pending)} OGPU`]];
  return h("article", { class: "card", "aria-labelledby": `node-${n.id}` },
    h("h3", { id: `node-${n.id}` }, n.name, " ", h("span", { class: n.status === "ONLINE" ? "bid" : "ask" }, n.status === "ONLINE" ? "● online" : "○ offline")),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h4", {}, "Offers"),
    n.offers.length ? h("div", { class: "scroll" }, h("table", { class: "offers" }, h("thead", {}, h("tr", {}, ...["Market", "Free / GPUs", "Price", "Suggested", "Reference", "State", "Reprice"].map((c, i) => h("th", { scope: "col", class: i > 0 && i < 5 ? "num" : "" }, c)))),
      h("tbody", {}, n.offers.map((o) => offerRow(s, o, prices.get(o.market), reload))))) : h("p", { class: "muted" }, "No open offer."),
    h("h4", {}, "Why is this node not getting work?"),
    h("ul", { class: "checklist" }, nodeChecklist(n, prices, account).map((c) => h("li", { class: c.state }, c.text))));
}

/** The provider console: nodes with their health and earnings, offers with inline repricing, stake, reputation, a checklist. */
function consoleView(main: HTMLElement, s: SignedIn): () => void {
  const status = statusLine("provider-status", "Loading your nodes…");
  const summary = h("dl", { class: "facts", id: "provider-summary" });
  const nodes = h("div", { id: "nodes" });
  fill(main, h("h1", {}, "Provider console"), summary, status, nodes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async (force = false): Promise<void> => {
    clearTimeout(timer);
    try {
      const [{ myNodes }, account] = await Promise.all([s.client.request(MyNodesConsoleDocument, {}), myAccount(s)]);
      const markets = [...new Set(myNodes.flatMap((n) => n.offers.map((o) => o.market)))];
      const prices = new Map((await Promise.all(markets.map((m) => s.client.request(MarketPricesDocument, { market: m })))).flatMap((r) => (r.market ? [[r.market.id, r.market] as const] : [])));
      const total = (pick: (e: { settled: string; pending: string }) => string) => unitsToDecimal(myNodes.reduce((sum, n) => sum + (n.earnings ? decimalToUnits(pick(n.earnings)) : 0n), 0n));
      fill(summary, ...([["Nodes", `${myNodes.filter((n) => n.status === "ONLINE").length} online of ${myNodes.length}`], ["Earned, settled", `${amount(total((e) => e.settled))} OGPU`], ["Earned, pending", `${amount(total((e) => e.pending))} OGPU`], ["Stake", `${amount(account.stake.staked)} OGPU (${amount(account.stake.unbonding)} unbonding)`], ["Reputation", `${account.reputation.score.toFixed(2)} (${account.reputation.completedJobs} completed, ${account.reputation.failedJobs} failed)`]] as [string, string][]).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
      // a redraw keeps the price being typed, and the focus, where they were
      const active = nodes.contains(document.activeElement) ? (document.activeElement as HTMLInputElement) : undefined;
      const typing = active?.tagName === "INPUT" && !force ? { id: active.id, value: active.value } : undefined;
      fill(nodes, myNodes.map((n) => nodeCard(s, n, prices, account, () => void load(true))));
      const again = typing && (document.getElementById(typing.id) as HTMLInputElement | null);
      if (again && typing) {
        again.value = typing.value;
        again.focus();
      }
      status.textContent = myNodes.length ? `Updated ${time(new Date().toISOString())}` : "No node yet: run the agent (agent/README.md) with an API key of this wallet.";
    } catch (e) {
      status.textContent = `Could not load: ${errorText(e)}`;
    }
    if (!stopped) timer = setTimeout(() => void load(), 5000);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function providerPage(main: HTMLElement): () => void {
  let stop: (() => void) | undefined;
  const off = onSignedIn((s) => {
    stop?.();
    stop = undefined;
    if (s) stop = consoleView(main, s);
    else fill(main, h("h1", {}, "Provider console"), h("p", { class: "lead" }, "Connect your provider wallet (top right) to see your nodes, offers, earnings and stake."));
  });
  return () => {
    off();
    stop?.();
  };
}
