import type { Logger } from "pino";
import type { GraphqlClient } from "./client";
import { errorText } from "./error-text";

/** One open challenge of a batch crediting this provider, as the API gives it (CreditChallenges). */
export interface CreditChallenge {
  batchId: string;
  clientIndex: number;
  client: string;
  deadline: string;
  escrow: string;
  debit: string | null;
  answerCalldata: string | null;
  answerOrders: number;
  unanswerable: string | null;
}

/** The chain as the watchtower needs it: whether a challenge is still open, and sending an answer. */
export interface WatchtowerChain {
  isOpen(escrow: string, batchId: bigint, clientIndex: number): Promise<boolean>;
  /** Sends `data` to `to` from the watchtower's key and waits for it to be mined; the transaction's hash. */
  send(to: string, data: string): Promise<string>;
}

/** What one check did with each challenge it was given. */
export type WatchAction = "waiting" | "answered" | "closed" | "unanswerable" | "refused";

/**
 * The agent's watchtower mode: the settlement batches that credit this provider are only paid if nobody upholds a
 * challenge of them, and the marketplace's settler answers challenges. Should it not (down, or its key stolen and
 * abused elsewhere), the agent answers each challenge still open one check after it first saw it, with the answer
 * the API built from the clients' signed orders (the escrow checks every signature and proof, so the API is not
 * trusted with anything). A challenge the orders cannot answer is said at error once.
 */
export class CreditWatchtower {
  private readonly firstSeen = new Map<string, number>();
  private readonly said = new Set<string>();

  constructor(
    private readonly deps: { client: GraphqlClient; chain: WatchtowerChain; provider: string; logger: Logger; now?: () => number },
  ) {}

  /** One check: every open challenge of a batch crediting the provider, and what was done with it. */
  async check(): Promise<Map<string, WatchAction>> {
    const { client, chain, provider, logger } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const { settlementChallenges: open } = await client.request<{ settlementChallenges: CreditChallenge[] }>("CreditChallenges", { provider });
    const actions = new Map<string, WatchAction>();
    for (const ch of open) {
      const key = `${ch.batchId}:${ch.clientIndex}`;
      const where = { batchId: ch.batchId, clientIndex: ch.clientIndex, client: ch.client, debit: ch.debit, deadline: ch.deadline };
      if (ch.answerCalldata === null) {
        if (!this.said.has(key)) logger.error({ ...where, reason: ch.unanswerable }, "watchtower: a batch crediting this provider is challenged and cannot be answered; its debit goes back to the client at the deadline");
        this.said.add(key);
        actions.set(key, "unanswerable");
        continue;
      }
      const seen = this.firstSeen.get(key);
      if (seen === undefined || seen === now) {
        // the marketplace answers on its own settlement pass: give it until the next check
        this.firstSeen.set(key, now);
        actions.set(key, "waiting");
        continue;
      }
      if (!(await chain.isOpen(ch.escrow, BigInt(ch.batchId), ch.clientIndex))) {
        actions.set(key, "closed");
        continue;
      }
      try {
        const tx = await chain.send(ch.escrow, ch.answerCalldata);
        logger.warn({ ...where, orders: ch.answerOrders, tx }, "watchtower: answered a challenge of a batch crediting this provider with the clients' signed orders");
        actions.set(key, "answered");
      } catch (err) {
        logger.error({ ...where, err: errorText(err) }, "watchtower: the chain refused the answer");
        actions.set(key, "refused");
      }
    }
    const current = new Set(open.map((c) => `${c.batchId}:${c.clientIndex}`));
    for (const key of this.firstSeen.keys()) if (!current.has(key)) this.firstSeen.delete(key);
    return actions;
  }
}
