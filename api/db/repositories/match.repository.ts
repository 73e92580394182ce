import type { EntityManager } from "typeorm";
import { reputationOf, type Candidate } from "../../../matching";
import { ASSIGNMENT_OFFERED_TOPIC } from "./lifecycle.repository";

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
         a.completed_jobs, a.failed_jobs, a.expired_jobs, a.rejected_jobs, coalesce(st.staked_wei, 0) AS staked_wei
    FROM offers o JOIN nodes n ON n.id = o.node_id JOIN accounts a ON a.id = o.provider_id LEFT JOIN stakes st ON st.account_id = o.provider_id`;

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
    reputation: reputationOf({ completed: r.completed_jobs, failed: r.failed_jobs, expired: r.expired_jobs, rejected: r.rejected_jobs, stakedWei: BigInt(r.staked_wei) }),
    online: r.online,
    stakeWei: BigInt(r.staked_wei),
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
  assignmentId: string;
}

/**
 * Claims `gpus` of an offer for one replica of a job, in one statement: a conditional update that succeeds only
 * while the offer is OPEN, unexpired, has the GPUs free, still asks at most `maxPriceWei` (it may have been
 * repriced since it was ranked), wants no longer a minimum duration than the job's maximum, is not withdrawn
 * (cancel-on-disconnect) and its node's last heartbeat is at or after `lease.onlineSince`, so a candidate chosen from a
 * stale read model can lose the claim but never oversell or land on a node gone silent; with it, the assignment (with its start lease and the checkpoint step it resumes
 * from), the trade (price = the offer's ask), and the outbox events of the trade and of the node's new
 * assignment. Undefined on a lost race (nothing written).
 */
export async function claimOffer(
  tx: Db,
  job: { id: string; createdAt: Date; maxPriceWei: bigint; maxDurationSeconds: number },
  offerId: string,
  replica: number,
  gpus: number,
  now: Date,
  lease: { expiresAt: Date; resumeFromStep: number | null; onlineSince: Date },
): Promise<Claimed | undefined> {
  const rows: { market: string; node_id: string; provider_id: string; price_wei: string; assignment_id: string }[] = await tx.query(
    `WITH c AS (
       UPDATE offers SET available_gpus = available_gpus - $3, updated_at = now()
        WHERE id = $2 AND status = 'OPEN' AND available_gpus >= $3 AND price_wei <= $4 AND (expires_at IS NULL OR expires_at > $5)
          AND (min_duration_seconds IS NULL OR min_duration_seconds <= $13) AND withdrawn_at IS NULL
          AND EXISTS (SELECT 1 FROM nodes n WHERE n.id = offers.node_id AND n.last_heartbeat_at >= $14)
        RETURNING id, market, node_id, provider_id, price_wei, min_duration_seconds
     ), a AS (
       INSERT INTO assignments (job_id, offer_id, node_id, provider_id, replica, attempt, gpus, price_wei, lease_expires_at, resumed_from_step, min_billed_seconds)
       SELECT $1, c.id, c.node_id, c.provider_id, $6,
              (SELECT coalesce(max(attempt), 0) + 1 FROM assignments WHERE job_id = $1 AND replica = $6), $3, c.price_wei, $10, $11, c.min_duration_seconds
         FROM c RETURNING id, node_id
     ), n AS (
       INSERT INTO outbox (topic, payload)
       SELECT $12, jsonb_build_object('assignmentId', a.id, 'nodeId', a.node_id, 'jobId', $1::uuid) FROM a
     ), t AS (
       INSERT INTO trades (market, job_id, assignment_id, offer_id, price_wei, gpus, wait_ms, executed_at)
       SELECT c.market, $1, a.id, c.id, c.price_wei, $3, $7, $5 FROM c, a
       RETURNING id, market, price_wei
     ), o AS (
       INSERT INTO outbox (topic, payload)
       SELECT $8, jsonb_build_object('id', t.id, 'market', t.market, 'priceWei', t.price_wei::text, 'gpus', $3::int, 'executedAt', $9::text) FROM t
     )
     SELECT c.market, c.node_id, c.provider_id, c.price_wei, a.id AS assignment_id FROM c, a`,
    [
      job.id, offerId, gpus, job.maxPriceWei.toString(), now, replica, Math.max(0, now.getTime() - job.createdAt.getTime()), TRADE_TOPIC, now.toISOString(),
      lease.expiresAt, lease.resumeFromStep, ASSIGNMENT_OFFERED_TOPIC, job.maxDurationSeconds, lease.onlineSince,
    ],
  );
  const row = rows[0];
  return row ? { offerId, market: row.market, nodeId: row.node_id, providerId: row.provider_id, priceWei: BigInt(row.price_wei), assignmentId: row.assignment_id } : undefined;
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
