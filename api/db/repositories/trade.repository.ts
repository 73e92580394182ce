import type { EntityManager } from "typeorm";
import type { TradePoint } from "../../../pricing";

type Db = Pick<EntityManager, "query">;

export interface TradeRecord {
  id: string;
  ordinal: bigint;
  market: string;
  jobId: string;
  clientId: string;
  priceWei: bigint;
  gpus: number;
  executedAt: Date;
}

/** A market's trades, newest first, before a cursor ordinal; one more than `first` tells whether a next page exists. */
export async function tradesOfMarket(db: Db, market: string, first: number, beforeOrdinal: bigint | undefined): Promise<TradeRecord[]> {
  const rows = await db.query(
    `SELECT t.id, t.ordinal, t.market, t.job_id, j.client_id, t.price_wei, t.gpus, t.executed_at
       FROM trades t JOIN jobs j ON j.id = t.job_id
      WHERE t.market = $1 AND ($2::bigint IS NULL OR t.ordinal < $2)
      ORDER BY t.ordinal DESC LIMIT $3`,
    [market, beforeOrdinal?.toString() ?? null, first + 1],
  );
  return rows.map((r: Record<string, string | number | Date>) => ({
    id: r.id as string,
    ordinal: BigInt(r.ordinal as string),
    market: r.market as string,
    jobId: r.job_id as string,
    clientId: r.client_id as string,
    priceWei: BigInt(r.price_wei as string),
    gpus: r.gpus as number,
    executedAt: r.executed_at as Date,
  }));
}

/** Trades of a market in [from, to), oldest first, as pricing/ takes them. */
export async function tradePoints(db: Db, market: string, from: Date, to: Date): Promise<TradePoint[]> {
  const rows: { price_wei: string; gpus: number; executed_at: Date }[] = await db.query(
    `SELECT price_wei, gpus, executed_at FROM trades WHERE market = $1 AND executed_at >= $2 AND executed_at < $3 ORDER BY executed_at, ordinal`,
    [market, from, to],
  );
  return rows.map((r) => ({ priceWei: BigInt(r.price_wei), gpus: r.gpus, executedAtMs: r.executed_at.getTime() }));
}

export interface MarketTradeStats {
  market: string;
  lastPriceWei: bigint | null;
  volume24hGpus: number;
}

/** Last trade price and GPUs traded since `since`, per market (all markets with trades, or the one asked). */
export async function marketTradeStats(db: Db, since: Date, market: string | undefined): Promise<Map<string, MarketTradeStats>> {
  const rows: { market: string; last_price: string | null; volume: number }[] = await db.query(
    `SELECT m.id AS market,
            (SELECT price_wei FROM trades t WHERE t.market = m.id ORDER BY t.ordinal DESC LIMIT 1) AS last_price,
            (SELECT coalesce(sum(gpus), 0)::int FROM trades t WHERE t.market = m.id AND t.executed_at >= $1) AS volume
       FROM markets m WHERE $2::varchar IS NULL OR m.id = $2`,
    [since, market ?? null],
  );
  return new Map(rows.map((r) => [r.market, { market: r.market, lastPriceWei: r.last_price === null ? null : BigInt(r.last_price), volume24hGpus: r.volume }]));
}

/** Seconds from submit to match of the latest `limit` trades (of these markets, or all), for expected waits. */
export async function recentWaitSeconds(db: Db, markets: readonly string[] | null, limit: number): Promise<number[]> {
  const rows: { wait_ms: string }[] = await db.query(
    `SELECT wait_ms FROM trades WHERE $1::varchar[] IS NULL OR market = ANY($1::varchar[]) ORDER BY ordinal DESC LIMIT $2`,
    [markets, limit],
  );
  return rows.map((r) => Number(r.wait_ms) / 1000);
}
