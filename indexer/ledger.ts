import type { ChainEvent } from "./types";

/**
 * What the indexer mirrors of one address, kept up to date from each event's delta (never re-summed from history):
 * - escrow (Escrow events naming a `client`): deposited = sum(Deposited) - sum(Withdrawn); withdrawing and its
 *   unlock time from the newest WithdrawRequested, cleared by a Withdrawn; debt = sum(DebtRecorded) - sum(DebtPaid)
 *   - sum(DebtCancelled) (an upheld challenge cancels the debt its entry recorded).
 *   Settlement debits are left out of deposited on purpose (the marketplace counts what a job spent itself);
 * - holds: the newest HoldsUpdated `held` or Debited `newHeld` (what the chain holds for the client);
 * - stake (Staking events naming a `provider`): Staked adds, UnstakeRequested moves to unbonding and sets the unlock
 *   time, Withdrawn empties unbonding by its amount, Slashed takes from staked first, then unbonding (the contract's
 *   rule); the unlock time clears when unbonding reaches 0.
 * Times are unix seconds.
 */
export interface AccountState {
  deposited: bigint;
  withdrawing: bigint;
  withdrawUnlockAt: bigint | null;
  debt: bigint;
  held: bigint;
  staked: bigint;
  unbonding: bigint;
  slashed: bigint;
  stakeUnlockAt: bigint | null;
}

export type StateField = keyof AccountState;

/** The part of the state an event changes: escrow (deposits, withdrawals, debt), holds, or stake. */
export type Family = "escrow" | "holds" | "stake";

/** Each changed field's value before the event (decimal strings, null for no time): restoring them undoes it. */
export type Undo = Partial<Record<StateField, string | null>>;

export const ESCROW_EVENTS: readonly string[] = ["Deposited", "Withdrawn", "WithdrawRequested", "DebtRecorded", "DebtPaid", "DebtCancelled"];
export const HOLD_EVENTS: readonly string[] = ["HoldsUpdated", "Debited"];
/** Staking events (they name a `provider`; Escrow's Withdrawn names a `client` instead). */
export const STAKE_EVENTS: readonly string[] = ["Staked", "UnstakeRequested", "Withdrawn", "Slashed"];

export function emptyState(): AccountState {
  return { deposited: 0n, withdrawing: 0n, withdrawUnlockAt: null, debt: 0n, held: 0n, staked: 0n, unbonding: 0n, slashed: 0n, stakeUnlockAt: null };
}

/** The address (lower-case) and family an event changes, or undefined for events that change no mirrored state. */
export function touches(e: Pick<ChainEvent, "name" | "args">): { address: string; family: Family } | undefined {
  const client = typeof e.args.client === "string" ? e.args.client.toLowerCase() : undefined;
  const provider = typeof e.args.provider === "string" ? e.args.provider.toLowerCase() : undefined;
  if (client && ESCROW_EVENTS.includes(e.name)) return { address: client, family: "escrow" };
  if (client && HOLD_EVENTS.includes(e.name)) return { address: client, family: "holds" };
  if (provider && STAKE_EVENTS.includes(e.name)) return { address: provider, family: "stake" };
  return undefined;
}

const big = (v: unknown) => BigInt(typeof v === "string" && v !== "" ? v : "0");

/** Applies `e` to `s` (in place) and returns how to undo it; undefined when it changes nothing mirrored. */
export function applyEvent(s: AccountState, e: Pick<ChainEvent, "name" | "args">): Undo | undefined {
  const t = touches(e);
  if (!t) return undefined;
  const undo: Undo = {};
  const set = <K extends StateField>(k: K, v: AccountState[K]) => {
    if (!(k in undo)) undo[k] = s[k] === null ? null : String(s[k]);
    s[k] = v;
  };
  const amount = big(e.args.amount);
  if (t.family === "escrow") {
    if (e.name === "Deposited") set("deposited", s.deposited + amount);
    else if (e.name === "Withdrawn") {
      set("deposited", s.deposited - amount);
      set("withdrawing", 0n);
      set("withdrawUnlockAt", null);
    } else if (e.name === "WithdrawRequested") {
      set("withdrawing", amount);
      set("withdrawUnlockAt", amount > 0n ? big(e.args.unlockAt) : null);
    } else if (e.name === "DebtRecorded") set("debt", s.debt + amount);
    else if (e.name === "DebtPaid" || e.name === "DebtCancelled") set("debt", s.debt - amount);
  } else if (t.family === "holds") {
    set("held", big(e.name === "Debited" ? e.args.newHeld : e.args.held));
  } else if (e.name === "Staked") set("staked", s.staked + amount);
  else if (e.name === "UnstakeRequested") {
    set("staked", s.staked - amount);
    set("unbonding", s.unbonding + amount);
    set("stakeUnlockAt", big(e.args.unlockAt));
  } else if (e.name === "Withdrawn") {
    set("unbonding", s.unbonding - amount);
    if (s.unbonding === 0n) set("stakeUnlockAt", null);
  } else if (e.name === "Slashed") {
    const fromStaked = amount < s.staked ? amount : s.staked;
    set("staked", s.staked - fromStaked);
    set("unbonding", s.unbonding - (amount - fromStaked));
    set("slashed", s.slashed + amount);
    if (s.unbonding === 0n) set("stakeUnlockAt", null);
  }
  return undo;
}

/** Restores the fields `undo` names (undo events newest first to go back in time). */
export function undoEvent(s: AccountState, undo: Undo): void {
  for (const [k, v] of Object.entries(undo) as [StateField, string | null][]) {
    if (k === "withdrawUnlockAt" || k === "stakeUnlockAt") s[k] = v === null ? null : BigInt(v);
    else s[k] = BigInt(v ?? "0");
  }
}

/** Replays `events` (in chain order) from empty states: what an index built from scratch holds. */
export function replay(events: readonly Pick<ChainEvent, "name" | "args">[]): Map<string, AccountState> {
  const states = new Map<string, AccountState>();
  for (const e of events) {
    const t = touches(e);
    if (!t) continue;
    let s = states.get(t.address);
    if (!s) states.set(t.address, (s = emptyState()));
    applyEvent(s, e);
  }
  return states;
}
