import { normalizeGpuModel, parseMarketId, regionById } from "../../matching";
import type { DataSource, EntityManager } from "typeorm";
import type { BookChangeListener } from "./book-changes";
import { pageSize } from "./paging";
import { ensureMarket, recordAskChanges, recordBookChanges, type LevelChange } from "../db/repositories/book.repository";
import type { NodeEntity, NodeGpuGroup } from "../db/entities/node.entity";
import { lockNodeEntity, lockNodeRow, nodeByIdOrFail } from "../db/repositories/node.repository";
import type { OfferEntity, OfferStatusValue } from "../db/entities/offer.entity";
import {
  expireOffer,
  gpusInOpenOffers,
  hasWithdrawnOffers,
  insertOffer,
  lockOffer,
  lockSilentNode,
  offerById,
  offerOwner,
  offersDue,
  offersOfNodes,
  offerStatus,
  requeueOffer,
  returnNodeOffers,
  silentNodesWithLiveOffers,
  updateOffer,
  withdrawNodeOffers,
} from "../db/repositories/offer-write.repository";
import { decodeOfferCursor, listOffers, type OfferFilterData, type OfferPage } from "../db/repositories/offer.repository";
import { accountViewOf, type AccountView } from "./account.service";
import { badInput, conflict, forbidden, notFound } from "./errors";
import { formatDecimal, MAX_PRICE_WEI } from "../../pricing";
import { isUniqueViolation } from "../db/db-errors";
import { candidateById } from "../db/repositories/match.repository";
import { assertOfferLimits, CLIENT_ORDER_ID, DEFAULT_ORDER_LIMITS, lockAccountOrders, type OrderLimits } from "./order-limits";
import { restingBidsServedBy } from "./self-trade";
import { isOnline } from "./node.service";
import { assertId, requirePrincipal, type Principal } from "./principal";

export interface PostOfferData {
  nodeId: string;
  gpuModel?: string | null;
  priceWei: bigint;
  gpuCount: number;
  minDurationSeconds?: number | null;
  expiresAt?: Date | null;
  clientOrderId?: string | null;
  /** Refused (CONFLICT) if a resting job would match it at once, now or when a reprice or resize of it would. */
  postOnly?: boolean | null;
  /** Off the book while its node is offline; back when the node returns. */
  cancelOnDisconnect?: boolean | null;
}

export interface UpdateOfferData {
  priceWei?: bigint | null;
  gpuCount?: number | null;
  minDurationSeconds?: number | null;
  expiresAt?: Date | null;
}

export const MAX_MIN_DURATION_SECONDS = 30 * 86400;
export const MAX_OFFER_LIFETIME_MS = 366 * 86400 * 1000;

/** What the offer rules need to know: the account limits, and how long a silent node still counts as online. */
export interface OfferRules {
  limits: OrderLimits;
  heartbeatWindowSeconds: number;
}

export const DEFAULT_OFFER_RULES: OfferRules = { limits: DEFAULT_ORDER_LIMITS, heartbeatWindowSeconds: 60 };


/** A page of offers, with its providers as account views. */
export type OfferListing = Omit<OfferPage, "providers"> & { providers: AccountView[] };

/** Offers: post, reprice/resize, cancel, expire, list. Every change of the book records its deltas. */
export class OfferService {
  constructor(
    private readonly db: DataSource,
    private readonly onBookChange: BookChangeListener = () => undefined,
    /** Called after an offer is posted, repriced or resized: resting bids it may serve are matched. */
    private readonly onOfferChange: (offerId: string) => Promise<void> = async () => undefined,
    private readonly rules: OfferRules = DEFAULT_OFFER_RULES,
  ) {}

  async post(principal: Principal | undefined, input: PostOfferData, now = new Date()): Promise<OfferEntity> {
    const who = requirePrincipal(principal);
    assertId("node", input.nodeId);
    validatePrice(input.priceWei);
    validateCount(input.gpuCount);
    validateOptional(input, now);
    const clientOrderId = input.clientOrderId ?? null;
    if (clientOrderId !== null && !CLIENT_ORDER_ID.test(clientOrderId)) throw badInput("clientOrderId must be 1 to 64 printable characters without spaces");
    const { offer, deltas } = await this.transact(clientOrderId, async (tx) => {
      await lockAccountOrders(tx, who.accountId, "offers");
      const node = await lockOwnedNode(tx, who, input.nodeId);
      const group = chooseGroup(node, input.gpuModel);
      await assertCapacity(tx, node.id, group, input.gpuCount, undefined);
      await assertOfferLimits(tx, this.rules.limits, who.accountId, group.market, now);
      const { gpuModel } = parseMarketId(group.market);
      await ensureMarket(tx, group.market, gpuModel, group.vramGb);
      const cancelOnDisconnect = input.cancelOnDisconnect === true;
      const silent = !isOnline(node, now, this.rules.heartbeatWindowSeconds);
      const id = await insertOffer(tx, {
        nodeId: node.id,
        providerId: who.accountId,
        market: group.market,
        gpuModel,
        vramGb: group.vramGb,
        region: node.region,
        priceWei: input.priceWei,
        gpuCount: input.gpuCount,
        availableGpus: input.gpuCount,
        minDurationSeconds: input.minDurationSeconds ?? null,
        status: "OPEN",
        expiresAt: input.expiresAt ?? null,
        clientOrderId,
        postOnly: input.postOnly === true,
        cancelOnDisconnect,
        withdrawnAt: cancelOnDisconnect && silent ? now : null,
      });
      if (input.postOnly === true) await this.assertPostOnly(tx, id, now);
      const deltas = await recordAskChanges(tx, group.market, [input.priceWei]);
      return { offer: await offerById(tx, id), deltas };
    });
    this.onBookChange(deltas);
    await this.onOfferChange(offer.id);
    return offer;
  }

  /** Reprices and/or resizes an OPEN offer of the caller's; a resize keeps GPUs in use and fits the node. */
  async update(principal: Principal | undefined, id: string, input: UpdateOfferData, now = new Date()): Promise<OfferEntity> {
    const who = requirePrincipal(principal);
    assertId("offer", id);
    const fields = [input.priceWei, input.gpuCount, input.minDurationSeconds, input.expiresAt].filter((v) => v !== undefined && v !== null);
    if (fields.length === 0) throw badInput("say what to change: pricePerGpuHour, gpuCount, minDurationSeconds or expiresAt");
    if (input.priceWei !== undefined && input.priceWei !== null) validatePrice(input.priceWei);
    if (input.gpuCount !== undefined && input.gpuCount !== null) validateCount(input.gpuCount);
    validateOptional(input, now);
    const { offer, deltas } = await this.db.transaction(async (tx) => {
      const current = await this.lockOwnedOffer(tx, who, id, now);
      const node = await nodeByIdOrFail(tx, current.nodeId);
      const inUse = current.gpuCount - current.availableGpus;
      const gpuCount = input.gpuCount ?? current.gpuCount;
      if (gpuCount < inUse) throw conflict(`${inUse} GPUs of this offer are in use; it cannot shrink below that`);
      const group = node.gpus.find((g) => g.market === current.market);
      if (!group) throw conflict(`the node no longer has GPUs of ${current.market}; cancel this offer`);
      await assertCapacity(tx, node.id, group, gpuCount, current.id);
      const priceWei = input.priceWei ?? current.priceWei;
      // price-time priority: a new price or more GPUs is a new order in the queue; fewer GPUs keep their place
      const losesPriority = priceWei !== current.priceWei || gpuCount > current.gpuCount;
      if (losesPriority) await requeueOffer(tx, id);
      await updateOffer(tx, id, {
        priceWei,
        gpuCount,
        availableGpus: gpuCount - inUse,
        minDurationSeconds: input.minDurationSeconds ?? current.minDurationSeconds,
        expiresAt: input.expiresAt ?? current.expiresAt,
      });
      const changed = priceWei !== current.priceWei || gpuCount !== current.gpuCount;
      if (current.postOnly && losesPriority) await this.assertPostOnly(tx, id, now);
      const deltas = changed ? await recordAskChanges(tx, current.market, [current.priceWei, priceWei]) : [];
      return { offer: await offerById(tx, id), deltas };
    });
    this.onBookChange(deltas);
    if (deltas.length > 0) await this.onOfferChange(offer.id);
    return offer;
  }

  /** Runs a write, answering a clientOrderId already on an open offer of the account as CONFLICT. */
  private async transact<T>(clientOrderId: string | null, work: (tx: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work);
    } catch (err) {
      if (isUniqueViolation(err, "offers_client_order_idx")) throw conflict(`clientOrderId "${clientOrderId}" is already on an open offer of yours; use another or cancel that offer`);
      throw err;
    }
  }

  /** Post-only: CONFLICT (rolling the write back) when a resting job would match this offer as it now stands. */
  private async assertPostOnly(tx: EntityManager, offerId: string, now: Date): Promise<void> {
    const candidate = await candidateById(tx, offerId, new Date(now.getTime() - this.rules.heartbeatWindowSeconds * 1000), now);
    if (!candidate) return;
    const served = await restingBidsServedBy(tx, candidate);
    if (served.length > 0) {
      const best = served[0].requirements.maxPriceWei;
      throw conflict(`post-only: this offer would match ${served.length} resting job${served.length === 1 ? "" : "s"} at once (best bid ${best === null ? "uncapped" : formatDecimal(best)} OGPU per GPU-hour); ask more than the bids or post without postOnly`);
    }
  }

  /** Cancels an offer of the caller's; cancelling a cancelled offer returns it unchanged, an expired one is CONFLICT. */
  async cancel(principal: Principal | undefined, id: string, now = new Date()): Promise<OfferEntity> {
    const who = requirePrincipal(principal);
    assertId("offer", id);
    const { offer, deltas } = await this.db.transaction(async (tx) => {
      if ((await offerStatus(tx, id)) === "CANCELLED") {
        const existing = await offerById(tx, id);
        if (existing.providerId !== who.accountId) throw forbidden("this offer belongs to another provider");
        return { offer: existing, deltas: [] };
      }
      const current = await this.lockOwnedOffer(tx, who, id, now);
      await updateOffer(tx, id, { status: "CANCELLED" });
      const deltas = await recordAskChanges(tx, current.market, [current.priceWei]);
      return { offer: await offerById(tx, id), deltas };
    });
    this.onBookChange(deltas);
    return offer;
  }

  /**
   * Cancel-on-disconnect: takes the OPEN cancel-on-disconnect offers of nodes silent past the heartbeat window off
   * the book (withdrawn, still OPEN), each node in its own transaction with its book deltas. Returns how many.
   */
  async withdrawSilent(now = new Date(), limit = 500): Promise<number> {
    const onlineSince = new Date(now.getTime() - this.rules.heartbeatWindowSeconds * 1000);
    const nodes = await silentNodesWithLiveOffers(this.db, onlineSince, limit);
    let withdrawn = 0;
    for (const nodeId of nodes) {
      const deltas = await this.db.transaction(async (tx) => {
        if (!(await lockSilentNode(tx, nodeId, onlineSince))) return [];
        const offers = await withdrawNodeOffers(tx, nodeId, now);
        withdrawn += offers.length;
        return recordBookChanges(tx, askLevelsOf(offers));
      });
      this.onBookChange(deltas);
    }
    return withdrawn;
  }

  /** A node's heartbeat brings its withdrawn offers back to the book (with their deltas), and resting bids may match them. */
  async returnNode(nodeId: string): Promise<void> {
    if (!(await hasWithdrawnOffers(this.db, nodeId))) return;
    const { deltas, ids } = await this.db.transaction(async (tx) => {
      await lockNodeRow(tx, nodeId);
      const offers = await returnNodeOffers(tx, nodeId);
      const deltas = await recordBookChanges(tx, askLevelsOf(offers));
      return { deltas, ids: offers.map((o) => o.id) };
    });
    this.onBookChange(deltas);
    for (const id of ids) await this.onOfferChange(id);
  }

  /** Marks OPEN offers whose expiresAt has passed EXPIRED, each with its book delta. Returns how many. */
  async expireDue(now = new Date(), limit = 500): Promise<number> {
    const due = await offersDue(this.db, now, limit);
    let expired = 0;
    for (const { id, node_id } of due) {
      const deltas = await this.db.transaction(async (tx) => {
        await lockNodeRow(tx, node_id);
        const offer = await expireOffer(tx, id, now);
        return offer ? recordAskChanges(tx, offer.market, [BigInt(offer.price_wei)]) : [];
      });
      if (deltas.length > 0) expired++;
      this.onBookChange(deltas);
    }
    return expired;
  }

  /**
   * A page of offers with their nodes and providers (one statement; with the total too when `withCount`), for the
   * offers query and its loaders.
   */
  async list(
    filter: OfferFilterData,
    first: number | undefined | null,
    after: string | undefined | null,
    options: { withCount?: boolean; now?: Date } = {},
  ): Promise<OfferListing> {
    const size = pageSize(first);
    if (filter.minVramGb !== undefined && (!Number.isInteger(filter.minVramGb) || filter.minVramGb < 0)) throw badInput("minVramGb must be 0 or more");
    const checked: OfferFilterData = {
      ...filter,
      market: filter.market === undefined ? undefined : parseMarketId(filter.market).id,
      region: filter.region === undefined ? undefined : regionById(filter.region).id,
    };
    const cursor = after === undefined || after === null ? undefined : decodeOfferCursor(after);
    if (after && !cursor) throw badInput("after is not a cursor of this list; pass an endCursor or cursor it returned");
    const page = await listOffers(this.db, checked, size, cursor, options.now ?? new Date(), options.withCount);
    return { ...page, providers: page.providers.map(accountViewOf) };
  }

  /** The status a client sees: an OPEN offer past its expiresAt is EXPIRED even before the sweep records it. */
  static visibleStatus(offer: Pick<OfferEntity, "status" | "expiresAt">, now = new Date()): OfferStatusValue {
    return offer.status === "OPEN" && offer.expiresAt !== null && offer.expiresAt <= now ? "EXPIRED" : offer.status;
  }

  async byNode(nodeIds: readonly string[], status: OfferStatusValue | undefined, now = new Date()): Promise<OfferEntity[]> {
    const rows = await offersOfNodes(this.db, nodeIds);
    return status ? rows.filter((o) => OfferService.visibleStatus(o, now) === status) : rows;
  }

  private async lockOwnedOffer(tx: EntityManager, who: Principal, id: string, now: Date): Promise<OfferEntity> {
    const found = await offerOwner(tx, id);
    if (!found) throw notFound("offer", id);
    if (found.providerId !== who.accountId) throw forbidden("this offer belongs to another provider");
    await lockNodeRow(tx, found.nodeId);
    const offer = await lockOffer(tx, id);
    const status = OfferService.visibleStatus(offer, now);
    if (status !== "OPEN") throw conflict(`this offer is ${status}; post a new one`);
    return offer;
  }
}

/** The ask levels of offers a statement changed (their market and price, as RETURNING gives them). */
function askLevelsOf(offers: readonly { market: string; price_wei: string }[]): LevelChange[] {
  return offers.map((o) => ({ market: o.market, side: "ASK", priceWei: BigInt(o.price_wei) }));
}


async function lockOwnedNode(tx: EntityManager, who: Principal, nodeId: string): Promise<NodeEntity> {
  const node = await lockNodeEntity(tx, nodeId);
  if (!node) throw notFound("node", nodeId);
  if (node.providerId !== who.accountId) throw forbidden("this node belongs to another provider");
  return node;
}

function chooseGroup(node: NodeEntity, gpuModel: string | null | undefined): NodeGpuGroup {
  if (gpuModel === undefined || gpuModel === null || gpuModel.trim() === "") {
    if (node.gpus.length === 1) return node.gpus[0];
    throw badInput(`this node has GPUs of ${node.gpus.map((g) => g.market).join(", ")}; name one with gpuModel`);
  }
  const asMarket = /-\d+GB$/i.test(gpuModel.trim()) ? parseMarketId(gpuModel).id : undefined;
  const model = asMarket ? undefined : normalizeGpuModel(gpuModel);
  const groups = node.gpus.filter((g) => g.market === asMarket || parseMarketId(g.market).gpuModel === model);
  if (groups.length === 1) return groups[0];
  if (groups.length === 0) throw badInput(`this node has no ${gpuModel.slice(0, 64)} GPUs; it has ${node.gpus.map((g) => g.market).join(", ")}`);
  throw badInput(`this node has ${groups.map((g) => g.market).join(" and ")}; name the market in gpuModel, e.g. "${groups[0].market}"`);
}

async function assertCapacity(tx: EntityManager, nodeId: string, group: NodeGpuGroup, gpuCount: number, exceptOfferId: string | undefined): Promise<void> {
  const inOffers = await gpusInOpenOffers(tx, nodeId, group.market, exceptOfferId);
  const free = group.count - inOffers;
  if (gpuCount > free) {
    throw badInput(`this node has ${group.count} GPUs of ${group.market} and ${inOffers} are in other open offers; offer at most ${Math.max(free, 0)}`);
  }
}

function validatePrice(priceWei: bigint): void {
  if (priceWei <= 0n) throw badInput("pricePerGpuHour must be more than 0");
  if (priceWei > MAX_PRICE_WEI) throw badInput("pricePerGpuHour may be at most 1000000 OGPU per GPU-hour");
}

function validateCount(gpuCount: number): void {
  if (!Number.isInteger(gpuCount) || gpuCount < 1) throw badInput(`gpuCount must be a whole number of 1 or more, got ${gpuCount}`);
}

function validateOptional(input: { minDurationSeconds?: number | null; expiresAt?: Date | null }, now: Date): void {
  const min = input.minDurationSeconds;
  if (min !== undefined && min !== null && (!Number.isInteger(min) || min < 1 || min > MAX_MIN_DURATION_SECONDS)) {
    throw badInput(`minDurationSeconds must be from 1 to ${MAX_MIN_DURATION_SECONDS}`);
  }
  const at = input.expiresAt;
  if (at !== undefined && at !== null) {
    if (at.getTime() <= now.getTime()) throw badInput("expiresAt must be in the future");
    if (at.getTime() > now.getTime() + MAX_OFFER_LIFETIME_MS) throw badInput("expiresAt may be at most a year ahead");
  }
}
