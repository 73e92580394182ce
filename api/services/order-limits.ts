import type { EntityManager } from "typeorm";
import { advisoryXactLock, nodeCountOf, offerCountsOf, pendingJobCount } from "../db/repositories/limits.repository";
import { ServiceError } from "./errors";

type Db = Pick<EntityManager, "query">;

/**
 * What one account may hold on the book at once (settings; the defaults are sized for real providers: hundreds of
 * nodes, a few offers each, an agent fleet restarting at once). Each refusal is LIMIT_EXCEEDED (or RATE_LIMITED for the rate) naming the
 * setting and its value.
 */
export interface OrderLimits {
  /** Nodes registered by one account. */
  maxNodesPerAccount: number;
  /** OPEN offers of one account over all markets. */
  maxOpenOffersPerAccount: number;
  /** OPEN offers of one account in one market. */
  maxOpenOffersPerMarket: number;
  /** Offers one account posts in any 60 seconds (reprices are not posts). */
  maxOffersPerMinute: number;
  /** PENDING jobs (resting or being placed) of one client. */
  maxPendingJobsPerAccount: number;
}

/** The defaults of the MAX_* settings (api/config.ts says the same). */
export const DEFAULT_ORDER_LIMITS: OrderLimits = {
  maxNodesPerAccount: 200,
  maxOpenOffersPerAccount: 2000,
  maxOpenOffersPerMarket: 500,
  maxOffersPerMinute: 600,
  maxPendingJobsPerAccount: 1000,
};

/** A client order id (offers and jobs): 1 to 64 printable ASCII characters without spaces. */
export const CLIENT_ORDER_ID = /^[\x21-\x7e]{1,64}$/;

/** The kinds of order whose limits are counted under one account's lock. */
export type OrderKind = "nodes" | "offers";

/**
 * Serializes the writers of one account's `kind` in the caller's transaction (an advisory lock nothing else takes,
 * so it cannot join a deadlock), making the count-then-insert of the limits exact under concurrent requests.
 */
export async function lockAccountOrders(tx: Db, accountId: string, kind: OrderKind): Promise<void> {
  await advisoryXactLock(tx, `gx:${kind}:${accountId}`);
}

/** LIMIT_EXCEEDED for a count at its limit: "<what>: limit <setting> is <value>; <how to go on>". */
export function limitExceeded(setting: keyof OrderLimits, value: number, what: string, remedy: string): ServiceError {
  return new ServiceError("LIMIT_EXCEEDED", `${what}: limit ${setting} is ${value}; ${remedy}`);
}

/** Refuses a new offer of `providerId` in `market` when any offer limit would be passed (call under lockAccountOrders). */
export async function assertOfferLimits(tx: Db, limits: OrderLimits, providerId: string, market: string, now: Date): Promise<void> {
  const row = await offerCountsOf(tx, providerId, market, new Date(now.getTime() - 60_000));
  if (row.recent >= limits.maxOffersPerMinute) {
    throw new ServiceError("RATE_LIMITED", `${row.recent} offers posted in the last 60 s: limit maxOffersPerMinute is ${limits.maxOffersPerMinute}; reprice open offers with updateOffer instead of posting new ones`, 60);
  }
  if (row.open >= limits.maxOpenOffersPerAccount) {
    throw limitExceeded("maxOpenOffersPerAccount", limits.maxOpenOffersPerAccount, `this account has ${row.open} open offers`, "cancel some or resize one with updateOffer");
  }
  if (row.inMarket >= limits.maxOpenOffersPerMarket) {
    throw limitExceeded("maxOpenOffersPerMarket", limits.maxOpenOffersPerMarket, `this account has ${row.inMarket} open offers in ${market}`, "cancel some or resize one with updateOffer");
  }
}

/** Refuses a new node of `providerId` at the node limit (call under lockAccountOrders). */
export async function assertNodeLimit(tx: Db, limits: OrderLimits, providerId: string): Promise<void> {
  const nodes = await nodeCountOf(tx, providerId);
  if (nodes >= limits.maxNodesPerAccount) {
    throw limitExceeded("maxNodesPerAccount", limits.maxNodesPerAccount, `this account has ${nodes} nodes`, "register GPUs on an existing node or ask the operator for a higher limit");
  }
}

/**
 * Refuses a job that takes `accountId` past its pending-job limit: one just inserted in the caller's transaction
 * (counted among the pending), or with `beforeInsert` one about to be; `viaRelay` counts the relay jobs the account
 * ordered (their client on the book is the treasury). Counted in the statement's snapshot: concurrent submits of
 * one account may pass the limit by at most the number in flight at once (a flood still stops there).
 */
export async function assertJobLimit(tx: Db, limits: OrderLimits, accountId: string, viaRelay: boolean, beforeInsert = false): Promise<void> {
  const n = await pendingJobCount(tx, accountId, viaRelay);
  // a new job inserted is counted (the relay's row is written after it, so there it is not yet)
  const pending = viaRelay || beforeInsert ? n : n - 1;
  if (pending >= limits.maxPendingJobsPerAccount) {
    throw limitExceeded("maxPendingJobsPerAccount", limits.maxPendingJobsPerAccount, `this account has ${pending} jobs waiting for offers`, "cancel some or wait for them to match");
  }
}
