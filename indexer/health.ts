import type { ChainPort } from "./types";

/** What a process last learnt of the chain node: whether it answers, its head, and since when it does not. */
export interface ChainHealthView {
  /** null before the first call. */
  reachable: boolean | null;
  headBlock: bigint | null;
  /** When headBlock was read. */
  headAt: Date | null;
  /** The first failure of the current outage; null while the node answers. */
  unreachableSince: Date | null;
  /** The last failure's message (kept after recovery until the next success clears it). */
  error: string | null;
}

/** A change worth a log line: the node stopped answering, still does not (every `remindMs`), or answers again. */
export type HealthChange =
  | { kind: "down"; since: Date; error: string }
  | { kind: "still-down"; since: Date; downMs: number; error: string }
  | { kind: "up"; downMs: number };

/**
 * Tracks a chain node's reachability from the outcomes of calls made to it (time injected through `now`).
 * `ok` and `failed` return the change to log, if any: the first failure of an outage, a reminder every `remindMs`
 * while it lasts, and the recovery with how long it lasted.
 */
export class ChainHealth {
  private state: ChainHealthView = { reachable: null, headBlock: null, headAt: null, unreachableSince: null, error: null };
  private remindedAt: Date | null = null;

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly remindMs = 60_000,
  ) {}

  /** A call answered; `head` when it was the head. */
  ok(head?: bigint): HealthChange | undefined {
    const at = this.now();
    const since = this.state.unreachableSince;
    this.state = {
      reachable: true,
      headBlock: head ?? this.state.headBlock,
      headAt: head === undefined ? this.state.headAt : at,
      unreachableSince: null,
      error: null,
    };
    this.remindedAt = null;
    return since ? { kind: "up", downMs: at.getTime() - since.getTime() } : undefined;
  }

  /** A call failed in a way that says the node is not answering. */
  failed(err: unknown): HealthChange | undefined {
    const at = this.now();
    const error = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    const since = this.state.unreachableSince ?? at;
    this.state = { ...this.state, reachable: false, unreachableSince: since, error };
    if (since === at) {
      this.remindedAt = at;
      return { kind: "down", since, error };
    }
    if (at.getTime() - (this.remindedAt ?? since).getTime() >= this.remindMs) {
      this.remindedAt = at;
      return { kind: "still-down", since, downMs: at.getTime() - since.getTime(), error };
    }
    return undefined;
  }

  view(): ChainHealthView {
    return { ...this.state };
  }
}

/**
 * The chain port with every head and block call's outcome recorded in `health` (`onChange` gets what to log).
 * Failed event queries are not counted: a node refusing a large range answered, and the follower halves it.
 */
export function observedChain(chain: ChainPort, health: ChainHealth, onChange: (change: HealthChange) => void = () => undefined): ChainPort {
  const record = async <T>(call: Promise<T>, head?: (value: T) => bigint): Promise<T> => {
    let value: T;
    try {
      value = await call;
    } catch (err) {
      const change = health.failed(err);
      if (change) onChange(change);
      throw err;
    }
    const change = health.ok(head?.(value));
    if (change) onChange(change);
    return value;
  };
  return {
    head: () => record(chain.head(), (h) => h),
    finalized: () => chain.finalized(),
    block: (n) => record(chain.block(n)),
    events: (from, to) => chain.events(from, to),
  };
}

/** The pause after the `failures`-th failure in a row: `baseMs` doubled each time, at most `maxMs`. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}
