import type { OrderBook, PriceLevel } from "../book";
import { decimalToUnits, unitsToDecimal } from "../decimal";

/** Options of {@link renderBook}. */
export interface BookViewOptions {
  /** Levels shown per side. */
  depth: number;
  /** Characters per line (the bars fill what the numbers leave). */
  width: number;
}

/**
 * A market's depth as text: the asks above (best lowest, next to the spread), the bids below (best first), each level
 * with its price, GPUs, orders and a bar of the GPUs available up to it (cumulative depth from the spread out).
 */
export function renderBook(book: OrderBook, options: BookViewOptions): string[] {
  const asks = book.asks.slice(0, options.depth);
  const bids = book.bids.slice(0, options.depth);
  const cumulative = (levels: readonly PriceLevel[]) => {
    let sum = 0;
    return levels.map((l) => (sum += l.gpus));
  };
  const askDepth = cumulative(asks);
  const bidDepth = cumulative(bids);
  const most = Math.max(1, askDepth.at(-1) ?? 0, bidDepth.at(-1) ?? 0);
  const priceWidth = Math.max(5, ...[...asks, ...bids].map((l) => l.price.length));
  const fixed = 3 + 1 + priceWidth + 1 + 7 + 1 + 7 + 2;
  const barWidth = Math.max(4, options.width - fixed);
  const row = (side: string, l: PriceLevel, depth: number) =>
    `${side} ${l.price.padStart(priceWidth)} ${String(l.gpus).padStart(7)} ${String(l.orders).padStart(7)}  ${"#".repeat(Math.max(1, Math.round((depth / most) * barWidth)))}`;

  const bestAsk = asks[0]?.price;
  const bestBid = bids[0]?.price;
  const spread = bestAsk !== undefined && bestBid !== undefined ? unitsToDecimal(decimalToUnits(bestAsk) - decimalToUnits(bestBid)) : "-";
  const lines = [
    `${book.market}  sequence ${book.sequence}  best ask ${bestAsk ?? "-"}  best bid ${bestBid ?? "-"}  spread ${spread}`,
    `${"".padEnd(3)} ${"price".padStart(priceWidth)} ${"gpus".padStart(7)} ${"orders".padStart(7)}  depth`,
  ];
  for (let i = asks.length - 1; i >= 0; i--) lines.push(row("ASK", asks[i], askDepth[i]));
  if (asks.length === 0) lines.push("ASK (no offers)");
  lines.push("-".repeat(fixed + barWidth));
  bids.forEach((l, i) => lines.push(row("BID", l, bidDepth[i])));
  if (bids.length === 0) lines.push("BID (no resting jobs)");
  return lines;
}
