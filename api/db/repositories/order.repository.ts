import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** A job's order as its client signed it (Escrow's EIP-712 Order) and the scope it was signed for. */
export interface JobOrderRow {
  jobId: string;
  clientId: string;
  chainId: bigint;
  escrow: string;
  nonce: bigint;
  maxCostWei: bigint;
  /** bytes32, 0x-prefixed: the job's request hash. */
  market: string;
  /** Unix seconds. */
  expiry: bigint;
  signature: string;
  /** The order's EIP-712 digest (a leaf's orderHash). */
  digest: string;
}

/** The next order nonce of an account, reserved (nonces start at 0 and are never issued twice). */
export async function reserveOrderNonce(db: Db, accountId: string): Promise<bigint> {
  const [row] = await db.query(
    `INSERT INTO order_nonces (account_id, next_nonce) VALUES ($1, 1)
     ON CONFLICT (account_id) DO UPDATE SET next_nonce = order_nonces.next_nonce + 1
     RETURNING next_nonce - 1 AS nonce`,
    [accountId],
  );
  return BigInt(row.nonce);
}

/** How many nonces the account has been issued (every issued nonce is below it). */
export async function issuedOrderNonces(db: Db, accountId: string): Promise<bigint> {
  const [row] = await db.query(`SELECT next_nonce FROM order_nonces WHERE account_id = $1`, [accountId]);
  return row ? BigInt(row.next_nonce) : 0n;
}

/** Stores a job's signed order, in the transaction that inserts the job. */
export async function insertJobOrder(tx: Db, o: JobOrderRow): Promise<void> {
  await tx.query(
    `INSERT INTO job_orders (job_id, client_id, chain_id, escrow, nonce, max_cost_wei, market, expiry, signature, digest)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [o.jobId, o.clientId, o.chainId.toString(), o.escrow.toLowerCase(), o.nonce.toString(), o.maxCostWei.toString(), o.market, o.expiry.toString(), o.signature, o.digest],
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toRow = (r: any): JobOrderRow => ({
  jobId: r.job_id,
  clientId: r.client_id,
  chainId: BigInt(r.chain_id),
  escrow: r.escrow,
  nonce: BigInt(r.nonce),
  maxCostWei: BigInt(r.max_cost_wei),
  market: r.market,
  expiry: BigInt(r.expiry),
  signature: r.signature,
  digest: r.digest,
});

/** The signed orders of `jobIds` for one chain and escrow. */
export async function ordersOfJobs(db: Db, scope: { chainId: bigint; escrow: string }, jobIds: readonly string[]): Promise<JobOrderRow[]> {
  if (jobIds.length === 0) return [];
  const rows = await db.query(`SELECT * FROM job_orders WHERE job_id = ANY($1::uuid[]) AND chain_id = $2 AND escrow = $3 AND burned_at IS NULL`, [jobIds, scope.chainId.toString(), scope.escrow.toLowerCase()]);
  return rows.map(toRow);
}

/** A job's signed order, if it has one. */
export async function orderOfJob(db: Db, jobId: string): Promise<JobOrderRow | undefined> {
  const [row] = await db.query(`SELECT * FROM job_orders WHERE job_id = $1`, [jobId]);
  return row ? toRow(row) : undefined;
}

/**
 * PENDING jobs whose signed order expires before they could run and settle: expiry before `now` plus the job's
 * longest run plus `marginSeconds` (unix seconds), and no replica assigned, running or done (a job back on the book
 * for a missing replica keeps its work). At most `limit`, oldest expiry first.
 */
export async function jobsWithOrdersExpiring(db: Db, nowSeconds: bigint, marginSeconds: number, limit = 500): Promise<string[]> {
  const rows: { job_id: string }[] = await db.query(
    `SELECT o.job_id FROM job_orders o JOIN jobs j ON j.id = o.job_id
      WHERE j.status = 'PENDING' AND o.expiry < $1::bigint + j.max_duration_seconds + $2::bigint
        AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.job_id = j.id AND a.status IN ('ASSIGNED', 'RUNNING', 'COMPLETED'))
      ORDER BY o.expiry LIMIT $3`,
    [nowSeconds.toString(), marginSeconds, limit],
  );
  return rows.map((r) => r.job_id);
}

/** Burns a job's signed order (its nonce was marked by a batch this marketplace did not send): its charges settle without it. */
export async function burnJobOrder(db: Db, jobId: string): Promise<boolean> {
  const rows = await db.query(`UPDATE job_orders SET burned_at = now() WHERE job_id = $1 AND burned_at IS NULL RETURNING job_id`, [jobId]);
  return (rows[0]?.length ?? 0) > 0;
}

/** A signed order as its client lists it: the stored order, and whether it was burned. */
export interface ListedJobOrderRow extends JobOrderRow {
  burned: boolean;
}

/**
 * The signed orders of account `clientId` in one chain and escrow with a nonce above `afterNonce` (all when null),
 * by nonce, at most `limit` (the unique key (client, chain, escrow, nonce) serves it); burned ones too.
 */
export async function signedOrdersOf(db: Db, clientId: string, scope: { chainId: bigint; escrow: string }, afterNonce: bigint | null, limit: number): Promise<ListedJobOrderRow[]> {
  const rows = await db.query(
    `SELECT * FROM job_orders WHERE client_id = $1 AND chain_id = $2 AND escrow = $3 AND ($4::numeric IS NULL OR nonce > $4::numeric)
      ORDER BY nonce LIMIT $5`,
    [clientId, scope.chainId.toString(), scope.escrow.toLowerCase(), afterNonce?.toString() ?? null, limit],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.map((r: any) => ({ ...toRow(r), burned: r.burned_at !== null }));
}
