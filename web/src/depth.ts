import type { OrderBook, PriceLevel } from "@gpu-exchange/sdk";
import { svg } from "./dom";

const W = 600;
const H = 200;
const PAD = 28;

/** Cumulative GPUs from the best level outwards: [price, GPUs at this price or better][]. */
function cumulative(levels: readonly PriceLevel[]): [number, number][] {
  let sum = 0;
  return levels.map((l) => [Number(l.price), (sum += l.gpus)]);
}

/**
 * The depth chart of a book as SVG: bids (highest first) stepping left of the spread, asks stepping right, each
 * level's height the GPUs at that price or better. Its label says the same in words, for screen readers.
 */
export function depthChart(book: OrderBook, levels = 50): SVGElement {
  const bids = cumulative(book.bids.slice(0, levels));
  const asks = cumulative(book.asks.slice(0, levels));
  const prices = [...bids, ...asks].map(([p]) => p);
  const label = `Depth chart at sequence ${book.sequence}: ${asks.at(-1)?.[1] ?? 0} GPUs asked from ${book.asks[0]?.price ?? "–"} to ${book.asks[Math.min(levels, book.asks.length) - 1]?.price ?? "–"}, ${bids.at(-1)?.[1] ?? 0} GPUs bid from ${book.bids[0]?.price ?? "–"} down to ${book.bids[Math.min(levels, book.bids.length) - 1]?.price ?? "–"}`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "depth", "data-sequence": String(book.sequence), "data-best-ask": book.asks[0]?.price ?? "" });
  if (!prices.length) {
    root.appendChild(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis" })).textContent = "The book is empty";
    return root;
  }
  let lo = Math.min(...prices);
  let hi = Math.max(...prices);
  if (hi === lo) [lo, hi] = [lo * 0.9, hi * 1.1 || 1];
  const top = Math.max(bids.at(-1)?.[1] ?? 0, asks.at(-1)?.[1] ?? 0);
  const x = (p: number) => PAD + ((p - lo) / (hi - lo)) * (W - 2 * PAD);
  const y = (g: number) => H - PAD - (g / top) * (H - 2 * PAD);
  const area = (points: [number, number][], edge: number, cls: string) => {
    if (!points.length) return;
    let d = `M${x(points[0]![0])},${y(0)}`;
    let prev = 0;
    for (const [p, g] of points) {
      d += ` L${x(p)},${y(prev)} L${x(p)},${y(g)}`;
      prev = g;
    }
    d += ` L${x(edge)},${y(prev)} L${x(edge)},${y(0)} Z`;
    root.appendChild(svg("path", { d, class: cls }));
  };
  area(bids, lo, "bids");
  area(asks, hi, "asks");
  root.appendChild(svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axisline" }));
  const text = (tx: number, ty: number, anchor: string, content: string) => (root.appendChild(svg("text", { x: tx, y: ty, "text-anchor": anchor, class: "axis" })).textContent = content);
  text(PAD, H - 8, "start", lo.toFixed(2));
  text(W - PAD, H - 8, "end", hi.toFixed(2));
  text(PAD, PAD - 10, "start", `${top} GPU${top === 1 ? "" : "s"}`);
  return root;
}
