import type { EntityManager } from "typeorm";
import { OfferEntity } from "../entities/offer.entity";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;
/** The ORM side of a DataSource or a transaction's EntityManager. */
type Orm = Pick<EntityManager, "getRepository">;

/** A new offer's columns, as the offer service posts it (ordinal, timestamps and id are the database's). */
export type NewOfferRow = Pick<
  OfferEntity,
  | "nodeId"
  | "providerId"
  | "market"
  | "gpuModel"
  | "vramGb"
  | "region"
  | "priceWei"
  | "gpuCount"
  | "availableGpus"
  | "minDurationSeconds"
  | "status"
  | "expiresAt"
  | "clientOrderId"
  | "postOnly"
  | "cancelOnDisconnect"
  | "withdrawnAt"
>;

/** What a reprice or resize writes on an offer (or a cancel: its status). */
export type OfferChanges = Partial<Pick<OfferEntity, "priceWei" | "gpuCount" | "availableGpus" | "minDurationSeconds" | "expiresAt" | "status">>;

/** An offer's ask level as an UPDATE ... RETURNING gives it (market and price). */
export interface OfferLevelRow {
  market: string;
  price_wei: string;
}

/** Inserts an offer; returns its id. */
export async function insertOffer(tx: Orm, offer: NewOfferRow): Promise<string> {
  const inserted = await tx.getRepository(OfferEntity).insert(offer);
  return inserted.identifiers[0].id as string;
}

/** An offer by id (it must exist). */
export async function offerById(db: Orm, id: string): Promise<OfferEntity> {
  return db.getRepository(OfferEntity).findOneByOrFail({ id });
}

/** Writes these columns of an offer. */
export async function updateOffer(tx: Orm, id: string, changes: OfferChanges): Promise<void> {
  await tx.getRepository(OfferEntity).update({ id }, changes);
}

/** Puts an offer at the back of its price level's queue (a new ordinal: price-time priority lost). */
export async function requeueOffer(tx: Db, id: string): Promise<void> {
  await tx.query(`UPDATE offers SET ordinal = nextval('offers_ordinal_seq') WHERE id = $1`, [id]);
}

/** An offer's stored status; undefined when there is no such offer. */
export async function offerStatus(tx: Db, id: string): Promise<string | undefined> {
  const [row] = await tx.query(`SELECT status FROM offers WHERE id = $1`, [id]);
  return row?.status;
}

/** An offer's node and provider; undefined when there is no such offer. */
export async function offerOwner(tx: Db, id: string): Promise<{ nodeId: string; providerId: string } | undefined> {
  const [found] = await tx.query(`SELECT node_id, provider_id FROM offers WHERE id = $1`, [id]);
  return found ? { nodeId: found.node_id, providerId: found.provider_id } : undefined;
}

/** Locks an offer's row (FOR UPDATE) and reads it (it must exist). */
export async function lockOffer(tx: Orm, id: string): Promise<OfferEntity> {
  return tx.getRepository(OfferEntity).createQueryBuilder("o").setLock("pessimistic_write").where("o.id = :id", { id }).getOneOrFail();
}



/** GPUs of a node's market in its OPEN offers, leaving out `exceptOfferId` when given. */
export async function gpusInOpenOffers(tx: Db, nodeId: string, market: string, exceptOfferId: string | undefined): Promise<number> {
  const [row] = await tx.query(
    `SELECT coalesce(sum(gpu_count), 0)::int AS gpus FROM offers
      WHERE node_id = $1 AND market = $2 AND status = 'OPEN' AND ($3::uuid IS NULL OR id <> $3::uuid)`,
    [nodeId, market, exceptOfferId ?? null],
  );
  return row.gpus;
}

/** The offers of these nodes, by ordinal. */
export async function offersOfNodes(db: Orm, nodeIds: readonly string[]): Promise<OfferEntity[]> {
  return db.getRepository(OfferEntity).createQueryBuilder("o").where("o.node_id IN (:...nodeIds)", { nodeIds }).orderBy("o.ordinal", "ASC").getMany();
}

/** Nodes silent since `onlineSince` (or never heard from) with OPEN cancel-on-disconnect offers still on the book, at most `limit`. */
export async function silentNodesWithLiveOffers(db: Db, onlineSince: Date, limit: number): Promise<string[]> {
  const nodes: { node_id: string }[] = await db.query(
    `SELECT DISTINCT o.node_id FROM offers o JOIN nodes n ON n.id = o.node_id
        WHERE o.status = 'OPEN' AND o.cancel_on_disconnect AND o.withdrawn_at IS NULL AND (n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < $1)
        LIMIT $2`,
    [onlineSince, limit],
  );
  return nodes.map((n) => n.node_id);
}

/** Locks a node's row (FOR UPDATE) if it is still silent since `onlineSince`; whether it was. */
export async function lockSilentNode(tx: Db, nodeId: string, onlineSince: Date): Promise<boolean> {
  const [node] = await tx.query(`SELECT id FROM nodes WHERE id = $1 AND (last_heartbeat_at IS NULL OR last_heartbeat_at < $2) FOR UPDATE`, [nodeId, onlineSince]);
  return node !== undefined;
}

/** Takes a node's OPEN cancel-on-disconnect offers off the book (withdrawn at `now`, still OPEN); their levels. */
export async function withdrawNodeOffers(tx: Db, nodeId: string, now: Date): Promise<OfferLevelRow[]> {
  return updateReturning<OfferLevelRow>(
    tx,
    `UPDATE offers SET withdrawn_at = $2, updated_at = now() WHERE node_id = $1 AND status = 'OPEN' AND cancel_on_disconnect AND withdrawn_at IS NULL RETURNING market, price_wei`,
    [nodeId, now],
  );
}

/** Whether a node has OPEN offers withdrawn from the book. */
export async function hasWithdrawnOffers(db: Db, nodeId: string): Promise<boolean> {
  const [any] = await db.query(`SELECT 1 FROM offers WHERE node_id = $1 AND status = 'OPEN' AND withdrawn_at IS NOT NULL LIMIT 1`, [nodeId]);
  return any !== undefined;
}

/** Brings a node's withdrawn OPEN offers back to the book; their ids and levels. */
export async function returnNodeOffers(tx: Db, nodeId: string): Promise<(OfferLevelRow & { id: string })[]> {
  return updateReturning<OfferLevelRow & { id: string }>(
    tx,
    `UPDATE offers SET withdrawn_at = NULL, updated_at = now() WHERE node_id = $1 AND status = 'OPEN' AND withdrawn_at IS NOT NULL RETURNING id, market, price_wei`,
    [nodeId],
  );
}

/** OPEN offers whose expiresAt is at or before `now`, soonest first, at most `limit`. */
export async function offersDue(db: Db, now: Date, limit: number): Promise<{ id: string; node_id: string }[]> {
  return db.query(`SELECT id, node_id FROM offers WHERE status = 'OPEN' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, [now, limit]);
}

/** Marks an OPEN offer past its expiresAt EXPIRED; its level, undefined when it was not (any longer) due. */
export async function expireOffer(tx: Db, id: string, now: Date): Promise<OfferLevelRow | undefined> {
  const [offer] = await updateReturning<OfferLevelRow>(
    tx,
    `UPDATE offers SET status = 'EXPIRED', updated_at = now() WHERE id = $1 AND status = 'OPEN' AND expires_at <= $2 RETURNING market, price_wei`,
    [id, now],
  );
  return offer;
}
