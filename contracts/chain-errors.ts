/** What a failed chain call means for the work that made it. */
export interface ChainFailure {
  /**
   * true: the node, the network or the sender is the problem (down, slow, a nonce race, no gas money, a paused
   * contract, a missing role): try the same thing again later. false: the transaction itself is refused (a revert
   * of its own arguments, too big for a block): the same call would fail again.
   */
  retryable: boolean;
  /** Short and stable enough for logs and a status column: the revert's name and arguments, or the message. */
  reason: string;
}

/** Reverts that say the sender may not act now, not that the call is wrong: retried like an outage. */
const NOT_NOW_REVERTS = new Set(["EnforcedPause", "AccessControlUnauthorizedAccount"]);

/**
 * Messages of the sender's state, not the call's (geth, Hardhat/EDR, Nethermind): no gas money (geth's estimate says
 * "gas required exceeds allowance" then), a nonce race, a fee too low. Checked before revert messages, since some
 * nodes wrap them in text that also says "reverted".
 */
const SENDER_MESSAGES = [
  /insufficient funds/i,
  /doesn't have enough funds/i,
  /gas required exceeds allowance/i,
  /nonce (is )?too low|nonce has already been used|nonce too high|invalid nonce/i,
  /replacement (transaction )?underpriced|transaction underpriced|already known|known transaction/i,
  /max fee per gas less than block base fee|fee cap/i,
];

/** Messages of a transaction that cannot succeed as it is. */
const PERMANENT_MESSAGES = [/execution reverted|reverted with|VM Exception|transaction reverted|\breverted\b/i, /exceeds block gas limit/i, /intrinsic gas too low/i];

interface EthersLike {
  code?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  reason?: unknown;
  revert?: { name?: unknown; args?: unknown } | null;
  error?: unknown;
  info?: { error?: unknown } | null;
}

/** The messages an error carries, the node's own first (ethers wraps them in "could not coalesce error" and the like). */
function messagesOf(err: unknown, depth = 0): string[] {
  if (depth > 4 || err === null || err === undefined) return [];
  if (typeof err === "string") return [err];
  if (typeof err !== "object") return [String(err)];
  const e = err as EthersLike;
  const own = [e.reason, e.shortMessage, e.message].filter((s): s is string => typeof s === "string" && s !== "");
  return [...messagesOf(e.error, depth + 1), ...messagesOf(e.info?.error, depth + 1), ...own];
}

function revertOf(err: unknown): string | undefined {
  const e = err as EthersLike;
  const name = e?.revert?.name;
  if (typeof name !== "string") return undefined;
  const args = Array.isArray(e.revert?.args) ? (e.revert!.args as unknown[]).map(String).join(", ") : "";
  return `${name}(${args})`;
}

/**
 * Classifies an error of a chain call (ethers v6, or a node's raw message) as retryable or permanent. A decoded
 * custom error of the contract is permanent, except "not now" ones (paused, a missing role); a revert message
 * is permanent; an insufficient-funds message is retryable, even when it carries the word "revert" elsewhere
 * in its text (the sender's gas money, not the call). Anything unrecognised is retryable: background work must
 * not give up on what may be an outage.
 */
export function classifyChainError(err: unknown): ChainFailure {
  const messages = messagesOf(err);
  const text = messages.join(" | ");
  const short = (messages[0] ?? String(err)).slice(0, 300);
  const revert = revertOf(err);
  if (revert) return { retryable: NOT_NOW_REVERTS.has(revert.slice(0, revert.indexOf("("))), reason: revert };
  if (SENDER_MESSAGES.some((re) => re.test(text))) return { retryable: true, reason: short };
  if ((err as EthersLike)?.code === "CALL_EXCEPTION" || PERMANENT_MESSAGES.some((re) => re.test(text))) {
    for (const name of NOT_NOW_REVERTS) if (text.includes(name)) return { retryable: true, reason: short };
    return { retryable: false, reason: short };
  }
  return { retryable: true, reason: short };
}

/** Revert data an error carries: ethers' `data`, a node's nested `data`, or "return data: 0x..." in a message. */
function revertDataOf(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || err === null || typeof err !== "object") return undefined;
  const e = err as { data?: unknown; error?: unknown; info?: { error?: unknown } | null; message?: unknown };
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(e.data)) return e.data;
  const nested = revertDataOf(e.data, depth + 1) ?? revertDataOf(e.error, depth + 1) ?? revertDataOf(e.info?.error, depth + 1);
  if (nested) return nested;
  return typeof e.message === "string" ? /return data: (0x[0-9a-fA-F]{8,})/.exec(e.message)?.[1] : undefined;
}

/**
 * Names the contract's custom error in an error whose revert ethers did not decode (estimateGas through a wallet,
 * a node that only says "unrecognized custom error"): sets `revert` to `{ name, args }` from `iface`. Returns the
 * error, changed or not.
 */
export function decodeRevert<E>(err: E, iface: { parseError(data: string): { name: string; args: ArrayLike<unknown> } | null }): E {
  if (err === null || typeof err !== "object" || (err as EthersLike).revert?.name) return err;
  const data = revertDataOf(err);
  if (!data) return err;
  try {
    const parsed = iface.parseError(data);
    if (parsed) Object.assign(err, { revert: { name: parsed.name, args: Array.from(parsed.args) } });
  } catch {
    return err;
  }
  return err;
}
