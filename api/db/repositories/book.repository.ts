import type { EntityManager } from "typeorm";
import { compareBigint } from "../../../pricing";
import { updateReturning } from "../query";

/** The outbox channel Postgres notifies on commit, so the relay publishes without polling delay. */
export const OUTBOX_NOTIFY_CHANNEL = "gx_outbox";
/** Outbox topic of book deltas; payload {@link BookDelta}. */
export const BOOK_DELTA_TOPIC = "book.delta";

/** The new aggregate of one price level after a change of the book (gpus 0 removes the level). */
export interface BookDelta {
  market: string;
  sequence: string;
  side: "ASK" | "BID";
  priceWei: string;
  gpus: number;
  orders: number;
}

/** One book snapshot: the market's sequence and its ask levels, best first. */
export interface BookSnapshot {
  market: string;
  sequence: bigint;
  asks: { priceWei: bigint; gpus: number; orders: number }[];
  bids: { priceWei: bigint; gpus: number; orders: number }[];
}

/** Creates the market row when it is new (markets are born with their first offer). */
export async function ensureMarket(tx: EntityManager, id: string, gpuModel: string, vramGb: number): Promise<void> {
  await tx.query(`INSERT INTO markets (id, gpu_model, vram_gb) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [id, gpuModel, vramGb]);
}

/** One price level of one side of a market's book that a transaction changed. */
export interface LevelChange {
  market: string;
  side: "ASK" | "BID";
  priceWei: bigint;
}

/** Records that the ask levels at `pricesWei` of `market` changed (see {@link recordBookChanges}). */
export function recordAskChanges(tx: EntityManager, market: string, pricesWei: readonly bigint[]): Promise<BookDelta[]> {
  return recordBookChanges(tx, pricesWei.map((priceWei) => ({ market, side: "ASK" as const, priceWei })));
}

/**
 * Records changed price levels: for each market (in id order, so concurrent writers lock markets in one
 * order) locks the market row, advances its sequence by one per distinct level, and writes one outbox
 * delta per level with that level's new aggregate, all in the caller's transaction. Every writer of a
 * book goes through here, so deltas are gapless and ordered. Asks are open offers with free GPUs; bids
 * are resting PENDING jobs that the market's GPUs could serve (model and memory), gpus = gpuCount x redundancy.
 */
export async function recordBookChanges(tx: EntityManager, changes: readonly LevelChange[]): Promise<BookDelta[]> {
  const byMarket = new Map<string, Map<string, LevelChange>>();
  for (const c of changes) {
    const levels = byMarket.get(c.market) ?? new Map<string, LevelChange>();
    levels.set(`${c.side}:${c.priceWei}`, c);
    byMarket.set(c.market, levels);
  }
  const deltas: BookDelta[] = [];
  for (const market of [...byMarket.keys()].sort()) {
    const levels = [...byMarket.get(market)!.values()];
    const [row] = await updateReturning<{ sequence: string; gpu_model: string; vram_gb: number }>(
      tx,
      `UPDATE markets SET sequence = sequence + $2 WHERE id = $1 RETURNING sequence, gpu_model, vram_gb`,
      [market, levels.length],
    );
    if (!row) continue;
    const last = BigInt(row.sequence);
    for (const [i, change] of levels.entries()) {
      const [level] =
        change.side === "ASK"
          ? await tx.query(
              `SELECT coalesce(sum(available_gpus), 0)::int AS gpus, count(*)::int AS orders
                 FROM offers WHERE market = $1 AND price_wei = $2 AND status = 'OPEN' AND available_gpus > 0 AND withdrawn_at IS NULL`,
              [market, change.priceWei.toString()],
            )
          : await tx.query(
              `SELECT coalesce(sum(gpu_count * redundancy), 0)::int AS gpus, count(*)::int AS orders
                 FROM jobs WHERE status = 'PENDING' AND resting AND max_price_wei = $1
                  AND min_vram_gb <= $2 AND (gpu_models IS NULL OR $3 = ANY(gpu_models))`,
              [change.priceWei.toString(), row.vram_gb, row.gpu_model],
            );
      deltas.push({
        market,
        sequence: (last - BigInt(levels.length - 1 - i)).toString(),
        side: change.side,
        priceWei: change.priceWei.toString(),
        gpus: level.gpus,
        orders: level.orders,
      });
    }
  }
  if (deltas.length === 0) return [];
  await tx.query(`INSERT INTO outbox (topic, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p`, [BOOK_DELTA_TOPIC, deltas.map((d) => JSON.stringify(d))]);
  await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_NOTIFY_CHANNEL]);
  return deltas;
}

/** The markets whose GPUs could serve a job of these requirements (the markets its bid shows in), by id. */
export async function marketsForRequirements(tx: Pick<EntityManager, "query">, minVramGb: number, gpuModels: readonly string[] | null): Promise<string[]> {
  const rows: { id: string }[] = await tx.query(
    `SELECT id FROM markets WHERE vram_gb >= $1 AND ($2::varchar[] IS NULL OR gpu_model = ANY($2::varchar[])) ORDER BY id`,
    [minVramGb, gpuModels],
  );
  return rows.map((r) => r.id);
}

/** Reads a market's book (both sides) and its sequence in one statement (one snapshot). Undefined for an unknown market. */
export async function loadBook(db: { query: EntityManager["query"] }, market: string): Promise<BookSnapshot | undefined> {
  const rows: { sequence: string; side: "ASK" | "BID" | null; price_wei: string | null; gpus: number | null; orders: number | null }[] = await db.query(
    `WITH m AS (SELECT id, sequence, gpu_model, vram_gb FROM markets WHERE id = $1)
     SELECT m.sequence, l.side, l.price_wei, l.gpus, l.orders
       FROM m LEFT JOIN LATERAL (
         SELECT 'ASK' AS side, price_wei, sum(available_gpus)::int AS gpus, count(*)::int AS orders
           FROM offers WHERE market = m.id AND status = 'OPEN' AND available_gpus > 0 AND withdrawn_at IS NULL
          GROUP BY price_wei
         UNION ALL
         SELECT 'BID' AS side, max_price_wei, sum(gpu_count * redundancy)::int, count(*)::int
           FROM jobs WHERE status = 'PENDING' AND resting
            AND min_vram_gb <= m.vram_gb AND (gpu_models IS NULL OR m.gpu_model = ANY(gpu_models))
          GROUP BY max_price_wei
       ) l ON true`,
    [market],
  );
  if (rows.length === 0) return undefined;
  const level = (r: (typeof rows)[number]) => ({ priceWei: BigInt(r.price_wei as string), gpus: r.gpus ?? 0, orders: r.orders ?? 0 });
  const asks = rows.filter((r) => r.side === "ASK").map(level);
  const bids = rows.filter((r) => r.side === "BID").map(level);
  asks.sort((a, b) => compareBigint(a.priceWei, b.priceWei));
  bids.sort((a, b) => compareBigint(b.priceWei, a.priceWei));
  return { market, sequence: BigInt(rows[0].sequence), asks, bids };
}
