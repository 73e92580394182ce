import { bookFromSnapshot, type OrderBook } from "../../book";
import { keepOrderBook } from "../../book-keeper";
import { OrderBookDocument } from "../../generated/graphql";
import type { Context } from "../context";
import { renderBook } from "../book-view";

/**
 * `gx book MARKET`: the market's depth, live (redrawn on every change, at most 10 times a second, on a terminal; a new
 * block per change elsewhere) until interrupted; `--once` prints a snapshot and ends.
 */
export async function book(ctx: Context, market: string, flags: { depth: number; once?: boolean }): Promise<void> {
  const client = await ctx.client(false);
  const text = (b: OrderBook) =>
    ctx.json ? JSON.stringify({ ...b, sequence: b.sequence.toString() }) : renderBook(b, { depth: flags.depth, width: Math.max(40, ctx.io.columns) }).join("\n");
  if (flags.once) {
    const { orderBook } = await client.request(OrderBookDocument, { market, depth: Math.min(500, Math.max(1, flags.depth)) });
    return void ctx.io.out(`${text(bookFromSnapshot(orderBook))}\n`);
  }
  const redraw = ctx.io.outIsTty && !ctx.json;
  let shown = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastError = "";
  const draw = (b: OrderBook) => {
    ctx.io.out(redraw ? `\x1b[H\x1b[2J${text(b)}\n` : `${text(b)}\n${ctx.json ? "" : "\n"}`);
    shown = Date.now();
  };
  const keeper = keepOrderBook(client, market, {
    depth: 500,
    onChange: () => {
      if (timer) return;
      timer = setTimeout(() => ((timer = undefined), draw(keeper.book!)), Math.max(0, 100 - (Date.now() - shown)));
    },
    onResync: (r) => (r.reason === "start" ? undefined : ctx.io.err(`${market}: reloaded the book (${r.reason})\n`)),
    onError: (e) => {
      const line = `${market}: ${e.code}: ${e.message}`;
      if (line !== lastError) ctx.io.err(`${line}${e.retryable ? " (retrying)" : ""}\n`);
      lastError = line;
    },
  });
  try {
    await keeper.until(() => true);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
  } finally {
    if (timer) clearTimeout(timer);
    keeper.close();
  }
}
