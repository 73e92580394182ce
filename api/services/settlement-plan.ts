/** What the node says of a sent transaction that has no receipt: mined, waiting, replaced (its nonce used by another), or never heard of. */
export type TxLookup = "mined" | "pending" | "replaced" | "unknown";

/** The verdict on a SUBMITTED batch's transaction. */
export type SubmittedVerdict = "mined" | "reverted" | "waiting" | "vanished";

/**
 * The verdict on a sent transaction: its receipt decides (mined or reverted); without one, it vanished when the node
 * does not know it or its nonce went to another transaction, and it was sent at least `dropAfterMs` ago (a node
 * behind a load balancer may not know a fresh one yet); otherwise it is still waiting. A batch with no transaction
 * recorded (marked SUBMITTED because the chain said it was settled) has `lookup` "unknown".
 */
export function judgeSubmitted(o: { receipt: { ok: boolean } | null; lookup?: TxLookup; ageMs: number; dropAfterMs: number }): SubmittedVerdict {
  if (o.receipt) return o.receipt.ok ? "mined" : "reverted";
  if ((o.lookup === "unknown" || o.lookup === "replaced") && o.ageMs >= o.dropAfterMs) return "vanished";
  return "waiting";
}

/** The wait before a refused single charge is sent again: `baseMs` doubled per attempt, at most `maxMs` (attempt >= 1). */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/** One new batch made from a refused batch's charges. */
export interface RetryPart<T> {
  rows: T[];
  /** Refusals of a single charge so far in this lineage (splits do not count). */
  attempt: number;
  /** Milliseconds from now before it is sent. */
  delayMs: number;
}

/**
 * How a batch the chain refused is re-batched so that the rest of its charges still settle: split in halves (sent at
 * once) until a refused batch holds one charge, which is sent again after `retryDelayMs(attempt)`, since what made it
 * fail (a client short of balance after a reset, say) may be fixed later. With `groupOf`, charges of one group (the
 * charges of one signed order, whose nonce may be marked once) stay together: the halves split groups, and a batch of
 * one group is retried whole. Every charge lands in exactly one part, in order within its group; no part is empty.
 */
export function planRetry<T>(rows: readonly T[], attempt: number, backoff: { baseMs: number; maxMs: number }, groupOf?: (row: T) => string): RetryPart<T>[] {
  if (rows.length === 0) return [];
  const groups = new Map<string, T[]>();
  rows.forEach((row, i) => {
    const key = groupOf ? groupOf(row) : String(i);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  });
  const units = [...groups.values()];
  if (units.length === 1) return [{ rows: [...rows], attempt: attempt + 1, delayMs: retryDelayMs(attempt + 1, backoff.baseMs, backoff.maxMs) }];
  const mid = Math.ceil(units.length / 2);
  return [units.slice(0, mid), units.slice(mid)].map((part) => ({ rows: part.flat(), attempt, delayMs: 0 }));
}

/** How the marketplace mirrors a new job's hold on chain: what bounds the time from a match to its setHolds. */
export interface HoldMirrorTiming {
  /** How often the indexer polls the chain (it sees a withdrawal request within one poll). */
  indexerPollMs: number;
  /** How often a settlement pass runs (each sends the holds that changed). */
  settlementIntervalMs: number;
  /** How long a pass waits for its setHolds transaction. */
  holdsTxWaitMs: number;
}

/**
 * The shortest Escrow withdrawal delay, in seconds, that keeps money a job was matched on from leaving before the
 * chain holds it: a job matched just before the indexer sees the client's request (within a poll) has its hold sent
 * by the next settlement pass and mined within the pass's wait, so the delay must exceed a poll, a pass and the
 * wait; this asks for twice the poll and the pass, and the wait, rounded up.
 */
export function minWithdrawDelaySeconds(t: HoldMirrorTiming): number {
  return Math.ceil((2 * (t.indexerPollMs + t.settlementIntervalMs) + t.holdsTxWaitMs) / 1000);
}
