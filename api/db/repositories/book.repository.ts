import type { EntityManager } from "typeorm";
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

/**
 * Records that the ask levels at `pricesWei` of `market` changed: locks the market row, advances its
 * sequence by one per level, and writes one outbox delta per level with that level's new aggregate, all in
 * the caller's transaction. Every writer of the book goes through here, so deltas are gapless and ordered.
 */
export async function recordAskChanges(tx: EntityManager, market: string, pricesWei: readonly bigint[]): Promise<BookDelta[]> {
  const distinct = [...new Set(pricesWei)];
  if (distinct.length === 0) return [];
  const [row] = await updateReturning<{ sequence: string }>(tx, `UPDATE markets SET sequence = sequence + $2 WHERE id = $1 RETURNING sequence`, [market, distinct.length]);
  const last = BigInt(row.sequence);
  const deltas: BookDelta[] = [];
  for (const [i, priceWei] of distinct.entries()) {
    const [level] = await tx.query(
      `SELECT coalesce(sum(available_gpus), 0)::int AS gpus, count(*)::int AS orders
         FROM offers WHERE market = $1 AND price_wei = $2 AND status = 'OPEN' AND available_gpus > 0`,
      [market, priceWei.toString()],
    );
    deltas.push({
      market,
      sequence: (last - BigInt(distinct.length - 1 - i)).toString(),
      side: "ASK",
      priceWei: priceWei.toString(),
      gpus: level.gpus,
      orders: level.orders,
    });
  }
  await tx.query(
    `INSERT INTO outbox (topic, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p`,
    [BOOK_DELTA_TOPIC, deltas.map((d) => JSON.stringify(d))],
  );
  await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_NOTIFY_CHANNEL]);
  return deltas;
}

/** Reads a market's book and its sequence in one statement (one snapshot). Undefined for an unknown market. */
export async function loadBook(db: { query: EntityManager["query"] }, market: string): Promise<BookSnapshot | undefined> {
  const rows: { sequence: string; price_wei: string | null; gpus: number | null; orders: number | null }[] = await db.query(
    `SELECT m.sequence, l.price_wei, l.gpus, l.orders
       FROM markets m
       LEFT JOIN LATERAL (
         SELECT price_wei, sum(available_gpus)::int AS gpus, count(*)::int AS orders
           FROM offers WHERE market = m.id AND status = 'OPEN' AND available_gpus > 0
          GROUP BY price_wei
       ) l ON true
      WHERE m.id = $1
      ORDER BY l.price_wei ASC`,
    [market],
  );
  if (rows.length === 0) return undefined;
  return {
    market,
    sequence: BigInt(rows[0].sequence),
    asks: rows.filter((r) => r.price_wei !== null).map((r) => ({ priceWei: BigInt(r.price_wei as string), gpus: r.gpus ?? 0, orders: r.orders ?? 0 })),
    bids: [],
  };
}
