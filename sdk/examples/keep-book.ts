import { keepOrderBook, topOfBook, type ExchangeClient } from "@gpu-exchange/sdk";

/** Keeps a market's book live (snapshot + deltas, reloaded on a gap) and shows its top on every change. */
export function watchBook(client: ExchangeClient, market: string, show: (line: string) => void) {
  return keepOrderBook(client, market, {
    onChange(book) {
      const { bestAsk, bestBid } = topOfBook(book);
      show(`${market} #${book.sequence}: ask ${bestAsk ?? "-"} / bid ${bestBid ?? "-"} (${book.asks.length} ask levels)`);
    },
    onResync: (resync) => show(`${market}: loaded a snapshot (${resync.reason})`),
  });
}
