import type { EntityManager } from "typeorm";

type Db = Pick<EntityManager, "query">;

/** An upheld challenge (ChallengeResolved, upheld, at or below the finalized block) of one of this marketplace's batches whose charges are not yet refunded here. */
export interface UpheldEntry {
  batchId: string;
  clientIndex: number;
  client: string;
  refunded: bigint;
}

export async function upheldEntriesToApply(db: Db, scope: { chainId: bigint; escrow: string }): Promise<UpheldEntry[]> {
  const rows: { args: { batchId: string; clientIndex: string; client: string; refunded: string } }[] = await db.query(
    `SELECT r.args FROM chain_events r
      WHERE r.chain_id = $1 AND r.address = $2 AND r.name = 'ChallengeResolved' AND r.args->>'upheld' = 'true'
        AND r.block_number <= (SELECT finalized_block FROM chain_cursor k WHERE k.chain_id = $1)
        AND EXISTS (SELECT 1 FROM charges c JOIN accounts ca ON ca.id = c.client_id
                     WHERE c.settlement_batch = (r.args->>'batchId')::bigint AND ca.address = lower(r.args->>'client') AND c.refunded_at IS NULL)
      ORDER BY r.block_number, r.log_index`,
    [scope.chainId.toString(), scope.escrow.toLowerCase()],
  );
  return rows.map(({ args }) => ({ batchId: args.batchId, clientIndex: Number(args.clientIndex), client: args.client, refunded: BigInt(args.refunded) }));
}

/**
 * Marks the charges of `entry`'s client in its batch refunded and takes what they spent off the client's spent
 * escrow (the chain gave the debit back to its balance), in `tx`. What was refunded here, in wei.
 */
export async function refundEntry(tx: Db, entry: UpheldEntry): Promise<bigint> {
  const [rows]: [{ client_id: string; amount_wei: string }[], number] = await tx.query(
    `UPDATE charges c SET refunded_at = now() FROM accounts ca
      WHERE c.settlement_batch = $1 AND ca.id = c.client_id AND ca.address = lower($2) AND c.refunded_at IS NULL
      RETURNING c.client_id, c.amount_wei`,
    [entry.batchId, entry.client],
  );
  if (rows.length === 0) return 0n;
  const total = rows.reduce((t, r) => t + BigInt(r.amount_wei), 0n);
  await tx.query(`UPDATE escrow_balances SET spent_wei = spent_wei - $2, updated_at = now() WHERE account_id = $1`, [rows[0].client_id, total.toString()]);
  return total;
}
