import { parseMarketId } from "../../matching";
import type { DataSource } from "typeorm";
import type { BookSnapshot } from "../db/repositories/book.repository";
import { badInput } from "./errors";
import type { BookCache } from "./book-cache";

export interface MarketSummary {
  id: string;
  gpuModel: string;
  vramGb: number;
  sequence: bigint;
  bestAskWei: bigint | null;
  openOffers: number;
  availableGpus: number;
  offeredGpus: number;
  /** GPUs in use / GPUs offered over open offers, 0 when nothing is offered. */
  utilization: number;
}

export const MAX_BOOK_DEPTH = 500;
export const DEFAULT_BOOK_DEPTH = 20;

/** Markets and their books (read side). */
export class MarketService {
  /** Truncations of cached snapshots by depth, so hot reads return the same (immutable) object. */
  private readonly truncated = new WeakMap<BookSnapshot, Map<number, BookSnapshot>>();

  constructor(
    private readonly db: DataSource,
    private readonly books: BookCache,
  ) {}

  /** The book of a market, `depth` levels a side (default 20, 1 to 500). An unknown but well-formed market has an empty book at sequence 0. */
  async orderBook(marketText: string, depth: number | undefined | null): Promise<BookSnapshot> {
    const market = parseMarketId(marketText).id;
    const levels = depth ?? DEFAULT_BOOK_DEPTH;
    if (!Number.isInteger(levels) || levels < 1 || levels > MAX_BOOK_DEPTH) throw badInput(`depth must be from 1 to ${MAX_BOOK_DEPTH}, got ${depth}`);
    const book = (await this.books.get(market)) ?? { market, sequence: 0n, asks: [], bids: [] };
    if (book.asks.length <= levels && book.bids.length <= levels) return book;
    let byDepth = this.truncated.get(book);
    if (!byDepth) this.truncated.set(book, (byDepth = new Map()));
    let cut = byDepth.get(levels);
    if (!cut) byDepth.set(levels, (cut = { ...book, asks: book.asks.slice(0, levels), bids: book.bids.slice(0, levels) }));
    return cut;
  }

  async list(): Promise<MarketSummary[]> {
    return this.summaries(undefined);
  }

  async byId(marketText: string): Promise<MarketSummary | undefined> {
    const [summary] = await this.summaries(parseMarketId(marketText).id);
    return summary;
  }

  private async summaries(id: string | undefined): Promise<MarketSummary[]> {
    const rows: Record<string, string | number | null>[] = await this.db.query(
      `SELECT m.id, m.gpu_model, m.vram_gb, m.sequence,
              min(o.price_wei) FILTER (WHERE o.available_gpus > 0) AS best_ask,
              count(o.id)::int AS open_offers,
              coalesce(sum(o.available_gpus), 0)::int AS available,
              coalesce(sum(o.gpu_count), 0)::int AS offered
         FROM markets m
         LEFT JOIN offers o ON o.market = m.id AND o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > now())
        WHERE $1::varchar IS NULL OR m.id = $1
        GROUP BY m.id ORDER BY m.id`,
      [id ?? null],
    );
    return rows.map((r) => {
      const offered = Number(r.offered);
      const available = Number(r.available);
      return {
        id: String(r.id),
        gpuModel: String(r.gpu_model),
        vramGb: Number(r.vram_gb),
        sequence: BigInt(r.sequence as string),
        bestAskWei: r.best_ask === null ? null : BigInt(r.best_ask as string),
        openOffers: Number(r.open_offers),
        availableGpus: available,
        offeredGpus: offered,
        utilization: offered === 0 ? 0 : (offered - available) / offered,
      };
    });
  }
}

