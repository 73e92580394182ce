import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/**
 * Whether the credits of confirmed batch `s` are still pending on chain (one row, open): the escrow has a
 * challenge window w and the chain's time as last read (escrow_windows.chain_time) has not reached the epoch in which
 * they mature. Escrow's rule (EscrowLedger._mature): a credit of time t is claimable once floor(now / w) >=
 * floor(t / w) + 2, t being the batch's settledAt (its BatchCommitted event, in the same block as BatchSettled). A
 * windowed batch whose time or the chain's is not mirrored yet counts as open.
 */
const CREDIT_IN_WINDOW = `
  SELECT coalesce(bool_or(w.challenge_window_seconds > 0 AND (w.chain_time IS NULL OR e.args IS NULL
           OR w.chain_time / w.challenge_window_seconds < (e.args->>'settledAt')::bigint / w.challenge_window_seconds + 2)), false) AS open
    FROM escrow_windows w
    LEFT JOIN chain_events e ON e.chain_id = s.chain_id AND e.name = 'BatchCommitted' AND e.block_number = s.block_number
         AND e.address = s.escrow AND e.args->>'batchId' = s.batch_id::text
   WHERE w.chain_id = s.chain_id AND w.escrow = s.escrow`;

/** What a node's charges (less fees, refunded ones left out) came to, in wei. */
export interface NodeEarningsRow {
  /** In confirmed batches whose credits are claimable on chain. */
  settled: bigint;
  /** In confirmed batches still in the escrow's challenge window. */
  inWindow: bigint;
  /** In no batch yet, or in one the chain has not confirmed. */
  unconfirmed: bigint;
}

/** A node's earnings: its charges less their fees, by how far their batch got on chain (refunded charges left out). */
export async function nodeEarnings(db: Db, nodeId: string): Promise<NodeEarningsRow> {
  const [row] = await db.query(
    `SELECT coalesce(sum(c.amount_wei - c.fee_wei) FILTER (WHERE s.status IN ('CONFIRMED', 'FINALIZED') AND NOT win.open), 0)::text AS settled,
              coalesce(sum(c.amount_wei - c.fee_wei) FILTER (WHERE s.status IN ('CONFIRMED', 'FINALIZED') AND win.open), 0)::text AS in_window,
              coalesce(sum(c.amount_wei - c.fee_wei) FILTER (WHERE s.status IS NULL OR s.status NOT IN ('CONFIRMED', 'FINALIZED')), 0)::text AS unconfirmed
         FROM charges c JOIN assignments a ON a.id = c.assignment_id LEFT JOIN settlements s ON s.batch_id = c.settlement_batch
         LEFT JOIN LATERAL (${CREDIT_IN_WINDOW}) win ON true
        WHERE a.node_id = $1 AND c.refunded_at IS NULL`,
    [nodeId],
  );
  return { settled: BigInt(row.settled), inWindow: BigInt(row.in_window), unconfirmed: BigInt(row.unconfirmed) };
}
