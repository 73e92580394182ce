import type { EntityManager } from "typeorm";
import { applyEvent, emptyState, touches, undoEvent, type AccountState, type Family, type Undo } from "../../../indexer/ledger";
import type { ChainEvent } from "../../../indexer";

type Db = Pick<EntityManager, "query">;

/**
 * chain_accounts, the indexer's incremental state (one writer: the chain store), and its mirrors in escrow_balances
 * and stakes. Each statement covers every address of a step at once.
 */
export class ChainLedger {
  constructor(private readonly chain: string) {}

  /** The stored states of `addresses` (empty states for addresses not seen yet). */
  async load(tx: Db, addresses: readonly string[]): Promise<Map<string, AccountState>> {
    const states = new Map<string, AccountState>(addresses.map((a) => [a, emptyState()]));
    if (addresses.length === 0) return states;
    const rows: Record<string, string | null>[] = await tx.query(
      `SELECT address, deposited, withdrawing, withdraw_unlock_at, debt, held, staked, unbonding, slashed, stake_unlock_at FROM chain_accounts WHERE chain_id = $1 AND address = ANY($2::varchar[])`,
      [this.chain, addresses],
    );
    const opt = (v: string | null) => (v === null ? null : BigInt(v));
    for (const r of rows) {
      states.set(r.address!, {
        deposited: BigInt(r.deposited!),
        withdrawing: BigInt(r.withdrawing!),
        withdrawUnlockAt: opt(r.withdraw_unlock_at),
        debt: BigInt(r.debt!),
        held: BigInt(r.held!),
        staked: BigInt(r.staked!),
        unbonding: BigInt(r.unbonding!),
        slashed: BigInt(r.slashed!),
        stakeUnlockAt: opt(r.stake_unlock_at),
      });
    }
    return states;
  }

  async save(tx: Db, states: Map<string, AccountState>): Promise<void> {
    if (states.size === 0) return;
    const list = [...states.entries()];
    const col = (f: (s: AccountState) => bigint | null) => list.map(([, s]) => f(s)?.toString() ?? null);
    await tx.query(
      `INSERT INTO chain_accounts (chain_id, address, deposited, withdrawing, withdraw_unlock_at, debt, held, staked, unbonding, slashed, stake_unlock_at)
       SELECT $1, * FROM unnest($2::varchar[], $3::numeric[], $4::numeric[], $5::bigint[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::bigint[])
       ON CONFLICT (chain_id, address) DO UPDATE SET deposited = excluded.deposited, withdrawing = excluded.withdrawing, withdraw_unlock_at = excluded.withdraw_unlock_at,
         debt = excluded.debt, held = excluded.held, staked = excluded.staked, unbonding = excluded.unbonding, slashed = excluded.slashed, stake_unlock_at = excluded.stake_unlock_at`,
      [
        this.chain,
        list.map(([a]) => a),
        col((s) => s.deposited),
        col((s) => s.withdrawing),
        col((s) => s.withdrawUnlockAt),
        col((s) => s.debt),
        col((s) => s.held),
        col((s) => s.staked),
        col((s) => s.unbonding),
        col((s) => s.slashed),
        col((s) => s.stakeUnlockAt),
      ],
    );
  }

  /**
   * Applies `events` (chain order) to the states of the addresses they name, saves them and their mirrors, and
   * returns each event's undo (null for events that change nothing mirrored).
   */
  async apply(tx: Db, events: readonly ChainEvent[]): Promise<(Undo | null)[]> {
    const touched = events.map((e) => touches(e));
    const states = await this.load(tx, [...new Set(touched.flatMap((t) => (t ? [t.address] : [])))]);
    const undos = events.map((e, i) => (touched[i] ? (applyEvent(states.get(touched[i]!.address)!, e) ?? null) : null));
    await this.save(tx, states);
    await this.mirror(tx, byFamily(touched));
    return undos;
  }

  /**
   * Undoes `events` (newest first) on the states they name and saves them and their mirrors; what the chain holds
   * (escrow_balances.chain_held_wei) goes back to the last surviving hold of each client whose holds were undone,
   * so that syncHolds sends it again.
   */
  async undo(tx: Db, events: readonly { name: string; args: ChainEvent["args"]; undo: Undo | null }[]): Promise<void> {
    const touched = events.map((e) => touches(e));
    const states = await this.load(tx, [...new Set(touched.flatMap((t) => (t ? [t.address] : [])))]);
    events.forEach((e, i) => {
      if (touched[i] && e.undo) undoEvent(states.get(touched[i]!.address)!, e.undo);
    });
    await this.save(tx, states);
    const families = byFamily(touched);
    await this.mirror(tx, families);
    if (families.holds.length > 0) {
      await tx.query(
        `UPDATE escrow_balances b SET chain_held_wei = c.held FROM accounts a, chain_accounts c
          WHERE a.id = b.account_id AND c.chain_id = $1 AND c.address = a.address AND a.address = ANY($2::varchar[])`,
        [this.chain, families.holds],
      );
    }
  }

  /** Everything undone (a rewind to before the first block): no state, and the chain holds nothing for anyone. */
  async reset(tx: Db): Promise<void> {
    const rows: { address: string; escrow: boolean; stake: boolean }[] = await tx.query(
      `DELETE FROM chain_accounts WHERE chain_id = $1
       RETURNING address, (deposited <> 0 OR withdrawing <> 0 OR debt <> 0 OR withdraw_unlock_at IS NOT NULL) AS escrow, (staked <> 0 OR unbonding <> 0 OR slashed <> 0 OR stake_unlock_at IS NOT NULL) AS stake`,
      [this.chain],
    );
    await this.mirror(tx, { escrow: rows.filter((r) => r.escrow).map((r) => r.address), stake: rows.filter((r) => r.stake).map((r) => r.address), holds: [] });
    await tx.query(`UPDATE escrow_balances SET chain_held_wei = 0 WHERE chain_held_wei <> 0`);
  }

  /**
   * Writes the states of the escrow family's addresses into escrow_balances and the stake family's into stakes
   * (creating accounts on first sight); an address without a state row (after a reset) gets zeros.
   */
  private async mirror(tx: Db, f: Record<Family, string[]>): Promise<void> {
    const all = [...new Set([...f.escrow, ...f.stake])];
    if (all.length === 0) return;
    await tx.query(`INSERT INTO accounts (address) SELECT unnest($1::varchar[]) ON CONFLICT (address) DO NOTHING`, [all]);
    if (f.escrow.length > 0) {
      await tx.query(
        `INSERT INTO escrow_balances (account_id, deposited_wei, withdrawing_wei, withdraw_unlock_at, debt_wei)
         SELECT a.id, coalesce(c.deposited, 0), coalesce(c.withdrawing, 0), to_timestamp(c.withdraw_unlock_at), coalesce(c.debt, 0)
           FROM accounts a LEFT JOIN chain_accounts c ON c.chain_id = $1 AND c.address = a.address WHERE a.address = ANY($2::varchar[])
         ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei, withdrawing_wei = excluded.withdrawing_wei,
           withdraw_unlock_at = excluded.withdraw_unlock_at, debt_wei = excluded.debt_wei, updated_at = now()`,
        [this.chain, f.escrow],
      );
    }
    if (f.stake.length > 0) {
      await tx.query(
        `INSERT INTO stakes (account_id, staked_wei, unbonding_wei, slashed_wei, unlock_at)
         SELECT a.id, coalesce(c.staked, 0), coalesce(c.unbonding, 0), coalesce(c.slashed, 0), to_timestamp(c.stake_unlock_at)
           FROM accounts a LEFT JOIN chain_accounts c ON c.chain_id = $1 AND c.address = a.address WHERE a.address = ANY($2::varchar[])
         ON CONFLICT (account_id) DO UPDATE SET staked_wei = excluded.staked_wei, unbonding_wei = excluded.unbonding_wei,
           slashed_wei = excluded.slashed_wei, unlock_at = excluded.unlock_at, updated_at = now()`,
        [this.chain, f.stake],
      );
    }
  }
}

function byFamily(touched: readonly ({ address: string; family: Family } | undefined)[]): Record<Family, string[]> {
  const f: Record<Family, Set<string>> = { escrow: new Set(), holds: new Set(), stake: new Set() };
  for (const t of touched) if (t) f[t.family].add(t.address);
  return { escrow: [...f.escrow], holds: [...f.holds], stake: [...f.stake] };
}
