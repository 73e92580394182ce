import type { EntityManager } from "typeorm";
import { NodeEntity, type NodeGpuGroup } from "../entities/node.entity";

type Db = Pick<EntityManager, "query">;
/** A DataSource or a transaction's EntityManager, for the ORM's reads and writes of nodes. */
type OrmDb = Pick<EntityManager, "getRepository">;

/** A node's registration as it is stored. */
export interface NodeSpecRow {
  name: string;
  region: string;
  gpus: NodeGpuGroup[];
  cpuCores: number | null;
  ramGb: number | null;
  agentVersion: string | null;
}

/** A node's heartbeat metrics (null: keep the last reported). */
export interface NodeMetricsRow {
  gpuUtilization: number | null;
  gpuTemperatureC: number | null;
  measuredLatencyMs: number | null;
}

/** Whether the provider has a node of this name. */
export async function providerHasNode(tx: Db, providerId: string, name: string): Promise<boolean> {
  const [existing] = await tx.query(`SELECT 1 FROM nodes WHERE provider_id = $1 AND name = $2`, [providerId, name]);
  return Boolean(existing);
}

/** Inserts the provider's node of this name unless it exists (then nothing is written). */
export async function insertNodeIfNew(tx: Db, providerId: string, data: NodeSpecRow): Promise<void> {
  await tx.query(
    `INSERT INTO nodes (provider_id, name, region, gpus, cpu_cores, ram_gb, agent_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider_id, name) DO NOTHING`,
    [providerId, data.name, data.region, JSON.stringify(data.gpus), data.cpuCores, data.ramGb, data.agentVersion],
  );
}

/** The id of the provider's node of this name, locked in the caller's transaction (the node must exist). */
export async function lockNodeByName(tx: Db, providerId: string, name: string): Promise<string> {
  const [locked] = await tx.query(`SELECT id FROM nodes WHERE provider_id = $1 AND name = $2 FOR UPDATE`, [providerId, name]);
  return locked.id;
}

/** Writes a node's registration (region, GPUs, CPU, RAM, agent version). */
export async function updateNodeSpec(tx: OrmDb, nodeId: string, data: Omit<NodeSpecRow, "name">): Promise<void> {
  await tx.getRepository(NodeEntity).update({ id: nodeId }, { region: data.region, gpus: data.gpus, cpuCores: data.cpuCores, ramGb: data.ramGb, agentVersion: data.agentVersion });
}

/** Moves the node's offers that are in another region to `region`. */
export async function moveNodeOffersToRegion(tx: Db, nodeId: string, region: string): Promise<void> {
  await tx.query(`UPDATE offers SET region = $2 WHERE node_id = $1 AND region <> $2`, [nodeId, region]);
}

/** The GPUs the node's OPEN offers sell, per market. */
export function openOfferGpusOfNode(tx: Db, nodeId: string): Promise<{ market: string; gpus: number }[]> {
  return tx.query(`SELECT market, sum(gpu_count)::int AS gpus FROM offers WHERE node_id = $1 AND status = 'OPEN' GROUP BY market`, [nodeId]);
}

/** Records a heartbeat now, with the metrics reported (the others keep their last values). */
export async function recordHeartbeat(db: Db, nodeId: string, m: NodeMetricsRow): Promise<void> {
  await db.query(
    `UPDATE nodes SET last_heartbeat_at = now(),
         gpu_utilization = coalesce($2, gpu_utilization),
         gpu_temperature_c = coalesce($3, gpu_temperature_c),
         measured_latency_ms = coalesce($4, measured_latency_ms)
       WHERE id = $1`,
    [nodeId, m.gpuUtilization, m.gpuTemperatureC, m.measuredLatencyMs],
  );
}

/** A node by id, if it exists. */
export function nodeById(db: OrmDb, nodeId: string): Promise<NodeEntity | null> {
  return db.getRepository(NodeEntity).findOneBy({ id: nodeId });
}

/** A node by id (it must exist: throws otherwise). */
export function nodeByIdOrFail(db: OrmDb, nodeId: string): Promise<NodeEntity> {
  return db.getRepository(NodeEntity).findOneByOrFail({ id: nodeId });
}

/** A provider's nodes, oldest first. */
export function nodesOfProvider(db: OrmDb, providerId: string): Promise<NodeEntity[]> {
  return db.getRepository(NodeEntity).find({ where: { providerId }, order: { createdAt: "ASC", id: "ASC" } });
}

/** The nodes of these ids (those that exist). */
export function nodesByIds(db: OrmDb, ids: readonly string[]): Promise<NodeEntity[]> {
  return db.getRepository(NodeEntity).createQueryBuilder("n").where("n.id IN (:...ids)", { ids }).getMany();
}

/** Locks a node's row (FOR UPDATE) and reads it; null when there is no such node. */
export async function lockNodeEntity(tx: OrmDb, nodeId: string): Promise<NodeEntity | null> {
  return tx.getRepository(NodeEntity).createQueryBuilder("n").setLock("pessimistic_write").where("n.id = :id", { id: nodeId }).getOne();
}

/** Locks a node's row (FOR UPDATE), which serializes the writes of its offers. */
export async function lockNodeRow(tx: Db, nodeId: string): Promise<void> {
  await tx.query(`SELECT id FROM nodes WHERE id = $1 FOR UPDATE`, [nodeId]);
}
