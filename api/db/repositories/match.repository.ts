import type { EntityManager } from "typeorm";
import { reputationOf, type Candidate } from "../../../matching";
import { OUTBOX_NOTIFY_CHANNEL } from "./book.repository";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** Outbox topic of executed trades; payload {@link TradeEvent}. */
export const TRADE_TOPIC = "trade.executed";

export interface TradeEvent {
  id: string;
  market: string;
  priceWei: string;
  gpus: number;
  executedAt: string;
}

/** What the candidate query filters on in SQL (the indexable hard filters); the rest is matching/'s work. */
export interface CandidateQuery {
  gpuCount: number;
  minVramGb: number;
  gpuModels: readonly string[] | null;
  maxPriceWei: bigint | null;
  maxDurationSeconds: number;
  /** Nodes whose last heartbeat is at or after this are online. */
  onlineSince: Date;
  now: Date;
  limit: number;
}

const CANDIDATE_SELECT = `
  SELECT o.id, o.ordinal, o.provider_id, o.node_id, o.gpu_model, o.vram_gb, o.price_wei, o.available_gpus,
         n.region, n.measured_latency_ms, (n.last_heartbeat_at IS NOT NULL AND n.last_heartbeat_at >= $1) AS online,
         a.completed_jobs, a.failed_jobs, a.expired_jobs, a.rejected_jobs
    FROM offers o JOIN nodes n ON n.id = o.node_id JOIN accounts a ON a.id = o.provider_id`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toCandidate(r: any): Candidate {
  return {
    offerId: r.id,
    ordinal: Number(r.ordinal),
    providerId: r.provider_id,
    nodeId: r.node_id,
    gpuModel: r.gpu_model,
    vramGb: r.vram_gb,
    priceWei: BigInt(r.price_wei),
    availableGpus: r.available_gpus,
    region: r.region,
    measuredLatencyMs: r.measured_latency_ms,
    reputation: reputationOf({ completed: r.completed_jobs, failed: r.failed_jobs, expired: r.expired_jobs, rejected: r.rejected_jobs }),
    online: r.online,
  };
}

/**
 * Offers that pass the indexable hard filters (open, unexpired, online node, enough free GPUs, memory, model,
 * price cap, minimum duration), cheapest first then oldest (index offers_open_price_idx), at most `limit`.
 */
export async function loadCandidates(db: Db, q: CandidateQuery): Promise<Candidate[]> {
  const rows = await db.query(
    `${CANDIDATE_SELECT}
      WHERE o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > $2)
        AND o.available_gpus >= $3 AND o.vram_gb >= $4 AND ($5::varchar[] IS NULL OR o.gpu_model = ANY($5::varchar[]))
        AND ($6::numeric IS NULL OR o.price_wei <= $6::numeric)
        AND (o.min_duration_seconds IS NULL OR o.min_duration_seconds <= $7)
        AND n.last_heartbeat_at >= $1
      ORDER BY o.price_wei, o.ordinal LIMIT $8`,
    [q.onlineSince, q.now, q.gpuCount, q.minVramGb, q.gpuModels, q.maxPriceWei?.toString() ?? null, q.maxDurationSeconds, q.limit],
  );
  return rows.map(toCandidate);
}

/** Every open offer (up to `limit`, cheapest first), online or not, sold out or not, for explaining why a job matches none. */
export async function loadOpenOffers(db: Db, onlineSince: Date, now: Date, maxDurationSeconds: number, limit: number): Promise<Candidate[]> {
  const rows = await db.query(
    `${CANDIDATE_SELECT}
      WHERE o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > $2)
        AND (o.min_duration_seconds IS NULL OR o.min_duration_seconds <= $3)
      ORDER BY o.price_wei, o.ordinal LIMIT $4`,
    [onlineSince, now, maxDurationSeconds, limit],
  );
  return rows.map(toCandidate);
}

export interface Claimed {
  offerId: string;
  market: string;
  nodeId: string;
  providerId: string;
  priceWei: bigint;
}

/**
 * Claims `gpus` of an offer in one conditional update: only while it is OPEN, unexpired, has the GPUs free and
 * still asks at most `maxPriceWei` (it may have been repriced since it was ranked). Undefined on a lost race.
 */
export async function claimOffer(tx: Db, offerId: string, gpus: number, maxPriceWei: bigint, now: Date): Promise<Claimed | undefined> {
  const [row] = await updateReturning<{ market: string; node_id: string; provider_id: string; price_wei: string }>(
    tx,
    `UPDATE offers SET available_gpus = available_gpus - $2, updated_at = now()
      WHERE id = $1 AND status = 'OPEN' AND available_gpus >= $2 AND price_wei <= $3 AND (expires_at IS NULL OR expires_at > $4)
      RETURNING market, node_id, provider_id, price_wei`,
    [offerId, gpus, maxPriceWei.toString(), now],
  );
  return row ? { offerId, market: row.market, nodeId: row.node_id, providerId: row.provider_id, priceWei: BigInt(row.price_wei) } : undefined;
}

/** Writes the assignment of one replica and its trade (price = the offer's ask), with the trade's outbox event. */
export async function recordMatch(tx: Db, job: { id: string; createdAt: Date }, claimed: Claimed, replica: number, gpus: number, now: Date): Promise<{ assignmentId: string; trade: TradeEvent }> {
  const [{ attempt }] = await tx.query(`SELECT coalesce(max(attempt), 0)::int + 1 AS attempt FROM assignments WHERE job_id = $1 AND replica = $2`, [job.id, replica]);
  const [assignment] = await tx.query(
    `INSERT INTO assignments (job_id, offer_id, node_id, provider_id, replica, attempt, gpus, price_wei)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [job.id, claimed.offerId, claimed.nodeId, claimed.providerId, replica, attempt, gpus, claimed.priceWei.toString()],
  );
  const [trade] = await tx.query(
    `INSERT INTO trades (market, job_id, assignment_id, offer_id, price_wei, gpus, wait_ms, executed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [claimed.market, job.id, assignment.id, claimed.offerId, claimed.priceWei.toString(), gpus, Math.max(0, now.getTime() - job.createdAt.getTime()), now],
  );
  const event: TradeEvent = { id: trade.id, market: claimed.market, priceWei: claimed.priceWei.toString(), gpus, executedAt: now.toISOString() };
  await tx.query(`INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, [TRADE_TOPIC, JSON.stringify(event)]);
  await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_NOTIFY_CHANNEL]);
  return { assignmentId: assignment.id, trade: event };
}

/** One open, unexpired offer with free GPUs on an online node, as a candidate; undefined otherwise. */
export async function candidateById(db: Db, offerId: string, onlineSince: Date, now: Date): Promise<Candidate | undefined> {
  const rows = await db.query(
    `${CANDIDATE_SELECT}
      WHERE o.id = $3 AND o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > $2) AND o.available_gpus > 0 AND n.last_heartbeat_at >= $1`,
    [onlineSince, now, offerId],
  );
  return rows.length ? toCandidate(rows[0]) : undefined;
}
