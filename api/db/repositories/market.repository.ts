import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** A market with its book's figures: open offers (asks) and resting bids. */
export interface MarketBookRow {
  id: string;
  gpuModel: string;
  vramGb: number;
  sequence: bigint;
  /** The cheapest open offer with free GPUs; null when there is none. */
  bestAskWei: bigint | null;
  openOffers: number;
  availableGpus: number;
  offeredGpus: number;
  /** The highest cap of the resting bids the market's GPUs could serve; null when there is none. */
  bestBidWei: bigint | null;
  /** GPUs of those bids (gpuCount x redundancy). */
  bidGpus: number;
}

/**
 * Every market (or the one asked), by id, with its asks (open offers on the book, unexpired at `now`: the best
 * ask, how many, GPUs free and offered) and its bids (resting PENDING jobs it could serve: best cap and GPUs).
 */
export async function marketBooks(db: Db, id: string | undefined, now: Date): Promise<MarketBookRow[]> {
  const rows: Record<string, string | number | null>[] = await db.query(
    `SELECT m.id, m.gpu_model, m.vram_gb, m.sequence, a.best_ask, a.open_offers, a.available, a.offered, b.best_bid, b.bid_gpus
         FROM markets m
         CROSS JOIN LATERAL (
           SELECT min(o.price_wei) FILTER (WHERE o.available_gpus > 0) AS best_ask,
                  count(o.id)::int AS open_offers,
                  coalesce(sum(o.available_gpus), 0)::int AS available,
                  coalesce(sum(o.gpu_count), 0)::int AS offered
             FROM offers o WHERE o.market = m.id AND o.status = 'OPEN' AND o.withdrawn_at IS NULL AND (o.expires_at IS NULL OR o.expires_at > $2)
         ) a
         CROSS JOIN LATERAL (
           SELECT max(j.max_price_wei) AS best_bid, coalesce(sum(j.gpu_count * j.redundancy), 0)::int AS bid_gpus
             FROM jobs j WHERE j.status = 'PENDING' AND j.resting AND j.min_vram_gb <= m.vram_gb AND (j.gpu_models IS NULL OR m.gpu_model = ANY(j.gpu_models))
         ) b
        WHERE $1::varchar IS NULL OR m.id = $1
        ORDER BY m.id`,
    [id ?? null, now],
  );
  return rows.map((r) => ({
    id: String(r.id),
    gpuModel: String(r.gpu_model),
    vramGb: Number(r.vram_gb),
    sequence: BigInt(r.sequence as string),
    bestAskWei: r.best_ask === null ? null : BigInt(r.best_ask as string),
    openOffers: Number(r.open_offers),
    availableGpus: Number(r.available),
    offeredGpus: Number(r.offered),
    bestBidWei: r.best_bid === null ? null : BigInt(r.best_bid as string),
    bidGpus: Number(r.bid_gpus),
  }));
}
