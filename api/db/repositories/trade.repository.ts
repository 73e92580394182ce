import type { EntityManager } from "typeorm";
import type { RestingBid, TradePoint } from "../../../pricing";
import { readQuery } from "../query";

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
  const rows = await readQuery<Record<string, string | number | Date>>(
    db,
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

/** A trade with the accounts on both sides: the client that bought (its job's) and the provider that sold (its offer's). */
export interface PartyTradeRecord extends TradePoint {
  clientId: string;
  providerId: string;
}

type PartyRow = { price_wei: string; gpus: number; executed_at: Date; client_id: string; provider_id: string };
const toPartyTrade = (r: PartyRow): PartyTradeRecord => ({ priceWei: BigInt(r.price_wei), gpus: r.gpus, executedAtMs: r.executed_at.getTime(), clientId: r.client_id, providerId: r.provider_id });
const PARTY_TRADES = `SELECT t.price_wei, t.gpus, t.executed_at, j.client_id, o.provider_id
   FROM trades t JOIN jobs j ON j.id = t.job_id JOIN offers o ON o.id = t.offer_id`;

/** Trades of a market in [from, to) with their accounts, oldest first. */
export async function partyTrades(db: Db, market: string, from: Date, to: Date): Promise<PartyTradeRecord[]> {
  const rows: PartyRow[] = await db.query(`${PARTY_TRADES} WHERE t.market = $1 AND t.executed_at >= $2 AND t.executed_at < $3 ORDER BY t.executed_at, t.ordinal`, [market, from, to]);
  return rows.map(toPartyTrade);
}

/** The latest `limit` trades of a market with their accounts, oldest first. */
export async function latestPartyTrades(db: Db, market: string, limit: number): Promise<PartyTradeRecord[]> {
  const rows: PartyRow[] = await db.query(`SELECT * FROM (${PARTY_TRADES} WHERE t.market = $1 ORDER BY t.ordinal DESC LIMIT $2) x ORDER BY executed_at`, [market, limit]);
  return rows.map(toPartyTrade);
}

/** A resting job with what decides which markets it bids on (the same test as the book's bid side). */
export interface RestingBidRecord extends RestingBid {
  minVramGb: number;
  gpuModels: string[] | null;
}

/**
 * Jobs resting on the bid side (of the market with this model and memory, or of any), as demand counts them: GPUs over
 * all replicas, the escrow the job holds, and since when it rests: its submission, or the end of its latest
 * assignment when one ended since (a job back on the book after a failed or expired run rests anew).
 */
export async function restingBids(db: Db, market: { gpuModel: string; vramGb: number } | undefined): Promise<RestingBidRecord[]> {
  const rows: { gpus: number; hold_wei: string; resting_since: Date; min_vram_gb: number; gpu_models: string[] | null }[] = await db.query(
    `SELECT j.gpu_count * j.redundancy AS gpus, j.hold_wei, j.min_vram_gb, j.gpu_models,
            greatest(j.created_at, (SELECT max(coalesce(a.ended_at, a.created_at)) FROM assignments a WHERE a.job_id = j.id)) AS resting_since
       FROM jobs j
      WHERE j.status = 'PENDING' AND j.resting
        AND ($1::int IS NULL OR j.min_vram_gb <= $1) AND ($2::varchar IS NULL OR j.gpu_models IS NULL OR $2 = ANY(j.gpu_models))`,
    [market?.vramGb ?? null, market?.gpuModel ?? null],
  );
  return rows.map((r) => ({ gpus: r.gpus, holdWei: BigInt(r.hold_wei), restingSinceMs: r.resting_since.getTime(), minVramGb: r.min_vram_gb, gpuModels: r.gpu_models }));
}

/** Whether a resting job bids on a market: it accepts the market's memory and (when it names models) its model. */
export function bidsOn(bid: RestingBidRecord, market: { gpuModel: string; vramGb: number }): boolean {
  return bid.minVramGb <= market.vramGb && (bid.gpuModels === null || bid.gpuModels.includes(market.gpuModel));
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
