import { compareDecimals, type MarketPricesQuery, type MyNodesConsoleQuery } from "@gpu-exchange/sdk";
import { amount } from "./dom";
import type { Account } from "./session";

type NodeRow = MyNodesConsoleQuery["myNodes"][number];
type Prices = NonNullable<MarketPricesQuery["market"]>;
export type Check = { state: "ok" | "no" | "warn"; text: string };

/**
 * Why a node may not be getting work, from what the API shows: heartbeats, open offers on the book, free GPUs, its
 * asks against the resting jobs' best bid and the suggested price, and the provider's stake and reputation.
 */
export function nodeChecklist(node: NodeRow, prices: Map<string, Prices>, account: Account | undefined): Check[] {
  const checks: Check[] = [];
  checks.push(node.status === "ONLINE" ? { state: "ok", text: "Online: heartbeats arrive" } : { state: "no", text: "Offline: no recent heartbeat (is the agent running?)" });
  const open = node.offers;
  checks.push(open.length ? { state: "ok", text: `${open.length} open offer(s)` } : { state: "no", text: "No open offer: post one (the agent does at start)" });
  const withdrawn = open.filter((o) => o.withdrawn);
  if (withdrawn.length) checks.push({ state: "no", text: `${withdrawn.length} offer(s) off the book while the node is offline` });
  if (open.length && open.every((o) => o.availableGpus === 0)) checks.push({ state: "warn", text: "Every offered GPU is busy: nothing left to match" });
  for (const o of open) {
    const p = prices.get(o.market);
    if (!p) continue;
    if (p.bestBid && compareDecimals(o.pricePerGpuHour, p.bestBid) > 0) checks.push({ state: "no", text: `${o.market}: your ask ${amount(o.pricePerGpuHour)} is above the best resting bid ${amount(p.bestBid)}, so waiting jobs do not match it` });
    else if (p.bestBid) checks.push({ state: "ok", text: `${o.market}: your ask ${amount(o.pricePerGpuHour)} crosses the best resting bid ${amount(p.bestBid)}` });
    if (p.bestAsk && compareDecimals(o.pricePerGpuHour, p.bestAsk) > 0) checks.push({ state: "warn", text: `${o.market}: cheaper offers (from ${amount(p.bestAsk)}) match first` });
    if (p.suggestedPrice && compareDecimals(o.pricePerGpuHour, p.suggestedPrice) > 0) checks.push({ state: "warn", text: `${o.market}: above the suggested ask ${amount(p.suggestedPrice)}` });
  }
  if (account) {
    checks.push(Number(account.stake.staked) > 0 ? { state: "ok", text: `Stake: ${amount(account.stake.staked)} OGPU` } : { state: "warn", text: "No stake: a marketplace with a minimum stake (MIN_PROVIDER_STAKE) matches no offer of yours" });
    const r = account.reputation;
    checks.push(r.score >= 0.5 ? { state: "ok", text: `Reputation ${r.score.toFixed(2)} (${r.completedJobs} completed, ${r.failedJobs} failed)` } : { state: "warn", text: `Reputation ${r.score.toFixed(2)}: jobs asking a higher minimum pass you over` });
  }
  return checks;
}
