import type { EntityManager } from "typeorm";
import type { AccountAddress } from "../../../pricing";

type Db = Pick<EntityManager, "query">;

/*
 * The one relation of accounts (self-trade prevention and the reference price): two accounts are related when they
 * share an address, their own wallet or one their escrow earnings were paid to (the Escrow's `Claimed` events the
 * indexer mirrors). `accountAddresses` gives a known set's addresses, which pricing/ groups (relatedGroups);
 * `relatedAccounts` finds, for a client, the accounts its jobs may not trade with.
 */

/**
 * The addresses these accounts are known by, as the relation of accounts sees them: each account's own wallet, and
 * every address it had its escrow earnings paid to (the indexer's `Claimed` events: claim() pays the caller, claimTo()
 * any address), final or not. Addresses lowercased.
 */
export async function accountAddresses(db: Db, accountIds: readonly string[]): Promise<AccountAddress[]> {
  if (accountIds.length === 0) return [];
  const rows: { account_id: string; address: string }[] = await db.query(
    `SELECT a.id AS account_id, a.address FROM accounts a WHERE a.id = ANY($1::uuid[])
     UNION
     SELECT a.id, lower(e.args->>'to') FROM chain_events e JOIN accounts a ON a.address = lower(e.args->>'account')
      WHERE e.name = 'Claimed' AND e.args ? 'to' AND a.id = ANY($1::uuid[])`,
    [accountIds],
  );
  return rows.map((r) => ({ accountId: r.account_id, address: r.address }));
}

/**
 * Accounts related to each of `accountIds`, the account itself included: what self-trade prevention and the
 * reference price treat as one party. Two accounts are related when, on chain (the Escrow's `Claimed` events the
 * indexer mirrors), one paid its earnings out to the other's wallet, or both paid out to the same address: an
 * account that claims to another's wallet is that wallet's provider, whatever name it signs in with. A job
 * ordered through the relay also counts the account that ordered it (its client on the book is the treasury).
 */
export async function relatedAccounts(db: Db, accountIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const ids = [...new Set(accountIds)];
  const related = new Map<string, Set<string>>(ids.map((id) => [id, new Set([id])]));
  if (ids.length === 0) return related;
  const rows: { id: string; other: string }[] = await db.query(
    `WITH payouts AS (
       SELECT DISTINCT a.id, lower(e.args->>'to') AS to_address
         FROM chain_events e JOIN accounts a ON a.address = lower(e.args->>'account')
        WHERE e.name = 'Claimed' AND e.args ? 'to'
     ), mine AS (
       SELECT a.id, a.address FROM accounts a WHERE a.id = ANY($1::uuid[])
     )
     SELECT m.id, p.id AS other FROM mine m JOIN payouts p ON p.to_address = m.address
     UNION
     SELECT m.id, o.id AS other FROM mine m JOIN payouts p ON p.id = m.id JOIN accounts o ON o.address = p.to_address
     UNION
     SELECT m.id, q.id AS other FROM mine m JOIN payouts p ON p.id = m.id JOIN payouts q ON q.to_address = p.to_address`,
    [ids],
  );
  for (const r of rows) related.get(r.id)?.add(r.other);
  return related;
}

/** The accounts that ordered these jobs through the relay, by job id (jobs not ordered there are absent). */
export async function relayOrderers(db: Db, jobIds: readonly string[]): Promise<Map<string, string>> {
  if (jobIds.length === 0) return new Map();
  const rows: { job_id: string; account_id: string }[] = await db.query(`SELECT job_id, account_id FROM relay_jobs WHERE job_id = ANY($1::uuid[])`, [jobIds]);
  return new Map(rows.map((r) => [r.job_id, r.account_id]));
}
