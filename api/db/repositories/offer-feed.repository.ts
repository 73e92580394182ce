import type { DataSource, EntityManager } from "typeorm";
import { reputationOf, type Candidate } from "../../../matching";

type Db = Pick<EntityManager, "query">;

/** An open offer as the matching read model holds it: the candidate, and what only the database knows of it. */
export interface IndexedOffer {
  /** `online` here is whether the node's heartbeat is within the window at the time of the read (see OfferReadModel). */
  candidate: Candidate;
  market: string;
  expiresAtMs: number | null;
  minDurationSeconds: number | null;
  /** The node's last heartbeat, ms since the epoch; null before its first. */
  heartbeatMs: number | null;
}

export interface OfferSnapshot {
  /** Each market's sequence, read in the same snapshot as the offers. */
  sequences: Map<string, bigint>;
  offers: IndexedOffer[];
}

/** Open offers on the book (not withdrawn by cancel-on-disconnect); expiry and heartbeats are the read model's to judge. */
const SELECT = `
  SELECT o.id, o.ordinal, o.provider_id, o.node_id, o.market, o.gpu_model, o.vram_gb, o.price_wei, o.available_gpus,
         o.expires_at, o.min_duration_seconds, n.region, n.measured_latency_ms, n.last_heartbeat_at,
         a.completed_jobs, a.failed_jobs, a.expired_jobs, a.rejected_jobs, coalesce(st.staked_wei, 0) AS staked_wei
    FROM offers o JOIN nodes n ON n.id = o.node_id JOIN accounts a ON a.id = o.provider_id LEFT JOIN stakes st ON st.account_id = o.provider_id
   WHERE o.status = 'OPEN' AND o.withdrawn_at IS NULL`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toIndexed(r: any, onlineSinceMs: number): IndexedOffer {
  const heartbeatMs = r.last_heartbeat_at === null ? null : new Date(r.last_heartbeat_at).getTime();
  return {
    candidate: {
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
      online: heartbeatMs !== null && heartbeatMs >= onlineSinceMs,
      stakeWei: BigInt(r.staked_wei),
    },
    market: r.market,
    expiresAtMs: r.expires_at === null ? null : new Date(r.expires_at).getTime(),
    minDurationSeconds: r.min_duration_seconds,
    heartbeatMs,
  };
}

/** Every open offer (of `market` only, when given) and the markets' sequences, in one REPEATABLE READ snapshot. */
export async function offerSnapshot(db: DataSource, onlineSinceMs: number, market?: string): Promise<OfferSnapshot> {
  return db.transaction("REPEATABLE READ", async (tx) => {
    const seqs: { id: string; sequence: string }[] = await tx.query(`SELECT id, sequence FROM markets WHERE $1::varchar IS NULL OR id = $1`, [market ?? null]);
    const rows = await tx.query(`${SELECT} AND ($1::varchar IS NULL OR o.market = $1)`, [market ?? null]);
    return { sequences: new Map(seqs.map((s) => [s.id, BigInt(s.sequence)])), offers: rows.map((r: unknown) => toIndexed(r, onlineSinceMs)) };
  });
}

/** The open offers at these price levels (market, priceWei; index offers_book_idx) or with these ids, as they stand now. */
export async function offersAt(db: Db, levels: readonly { market: string; priceWei: string }[], ids: readonly string[], onlineSinceMs: number): Promise<IndexedOffer[]> {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (levels.length > 0) {
    params.push(levels.map((l) => l.market), levels.map((l) => l.priceWei));
    parts.push(`${SELECT} AND (o.market, o.price_wei) IN (SELECT * FROM unnest($1::varchar[], $2::numeric[]))`);
  }
  if (ids.length > 0) {
    params.push(ids);
    parts.push(`${SELECT} AND o.id = ANY($${params.length}::uuid[])`);
  }
  if (parts.length === 0) return [];
  const rows = await db.query(parts.join(" UNION "), params);
  return rows.map((r: unknown) => toIndexed(r, onlineSinceMs));
}

export interface BookClock {
  /** Each market's sequence now. */
  sequences: Map<string, bigint>;
  /** The database's clock when it answered (ms), from which the next poll may start. */
  polledAtMs: number;
  /** Nodes whose last heartbeat is after the `sinceMs` asked (index nodes_heartbeat_idx). */
  nodes: { nodeId: string; heartbeatMs: number; measuredLatencyMs: number | null }[];
}

/** In one round trip: the markets' sequences, and the nodes that beat after `sinceMs`. */
export async function bookClock(db: Db, sinceMs: number): Promise<BookClock> {
  const rows: { k: "m" | "n" | "t"; id: string | null; v: string | null; at: Date | null; lat: number | null }[] = await db.query(
    `SELECT 'm' AS k, id, sequence::text AS v, NULL::timestamptz AS at, NULL::float8 AS lat FROM markets
     UNION ALL SELECT 'n', id::text, NULL, last_heartbeat_at, measured_latency_ms FROM nodes WHERE last_heartbeat_at > $1
     UNION ALL SELECT 't', NULL, NULL, statement_timestamp(), NULL`,
    [new Date(sinceMs)],
  );
  const clock: BookClock = { sequences: new Map(), polledAtMs: 0, nodes: [] };
  for (const r of rows) {
    if (r.k === "m") clock.sequences.set(r.id as string, BigInt(r.v as string));
    else if (r.k === "n") clock.nodes.push({ nodeId: r.id as string, heartbeatMs: new Date(r.at as Date).getTime(), measuredLatencyMs: r.lat });
    else clock.polledAtMs = new Date(r.at as Date).getTime();
  }
  return clock;
}
