import { marketIdOf, regionById } from "../../matching";
import { assertNodeLimit, DEFAULT_ORDER_LIMITS, lockAccountOrders, type OrderLimits } from "./order-limits";
import type { DataSource, EntityManager } from "typeorm";
import type { NodeEntity, NodeGpuGroup } from "../db/entities/node.entity";
import { renewNodeLeases } from "../db/repositories/lifecycle.repository";
import { nodeEarnings } from "../db/repositories/earnings.repository";
import {
  insertNodeIfNew,
  lockNodeByName,
  moveNodeOffersToRegion,
  nodeById,
  nodeByIdOrFail,
  nodesByIds,
  nodesOfProvider,
  openOfferGpusOfNode,
  providerHasNode,
  recordHeartbeat,
  updateNodeSpec,
} from "../db/repositories/node.repository";
import { badInput, conflict, forbidden, notFound } from "./errors";
import { assertId, requirePrincipal, type Principal } from "./principal";

export interface GpuInputData {
  model: string;
  vramGb: number;
  count: number;
}

export interface RegisterNodeData {
  name: string;
  region: string;
  gpus: GpuInputData[];
  cpuCores?: number | null;
  ramGb?: number | null;
  agentVersion?: string | null;
}

export interface NodeMetricsData {
  gpuUtilization?: number | null;
  gpuTemperatureC?: number | null;
  measuredLatencyMs?: number | null;
}

export type NodeStatusValue = "ONLINE" | "OFFLINE";
export const MAX_GPU_GROUPS = 16;
export const MAX_GPUS_PER_GROUP = 64;

/** Whether a node's last heartbeat is within `heartbeatWindowSeconds` of `now` (never, before its first). */
export function isOnline(node: Pick<NodeEntity, "lastHeartbeatAt">, now: Date, heartbeatWindowSeconds: number): boolean {
  return node.lastHeartbeatAt !== null && now.getTime() - node.lastHeartbeatAt.getTime() <= heartbeatWindowSeconds * 1000;
}

/** Nodes: registration (idempotent by name per provider), heartbeats, liveness. */
export class NodeService {
  constructor(
    private readonly db: DataSource,
    private readonly heartbeatWindowSeconds: number,
    /** Heartbeats renew the node's running assignments' leases by this much. */
    private readonly leaseMs: number = 60_000,
    private readonly hooks: {
      limits?: OrderLimits;
      /** After each heartbeat: the node's withdrawn (cancel-on-disconnect) offers come back to the book. */
      afterHeartbeat?: (nodeId: string) => Promise<void>;
    } = {},
  ) {}

  /** ONLINE while the last heartbeat is within the window, OFFLINE after (and before the first). */
  statusOf(node: Pick<NodeEntity, "lastHeartbeatAt">, now = new Date()): NodeStatusValue {
    return isOnline(node, now, this.heartbeatWindowSeconds) ? "ONLINE" : "OFFLINE";
  }

  /**
   * Registers a node, or updates the caller's node of the same name (an agent re-registering after a
   * restart). GPU groups of one market are merged. Open offers must still fit the new GPUs: CONFLICT if not.
   */
  async register(principal: Principal | undefined, input: RegisterNodeData): Promise<NodeEntity> {
    const who = requirePrincipal(principal);
    const data = validateRegistration(input);
    return this.db.transaction(async (tx) => {
      await lockAccountOrders(tx, who.accountId, "nodes");
      const existing = await providerHasNode(tx, who.accountId, data.name);
      if (!existing) await assertNodeLimit(tx, this.hooks.limits ?? DEFAULT_ORDER_LIMITS, who.accountId);
      await insertNodeIfNew(tx, who.accountId, data);
      const lockedId = await lockNodeByName(tx, who.accountId, data.name);
      await assertOffersFit(tx, lockedId, data.gpus);
      await updateNodeSpec(tx, lockedId, data);
      await moveNodeOffersToRegion(tx, lockedId, data.region);
      return nodeByIdOrFail(tx, lockedId);
    });
  }

  /** Records a heartbeat (and optional metrics) from the node's owner. */
  async heartbeat(principal: Principal | undefined, nodeId: string, metrics: NodeMetricsData | undefined): Promise<NodeEntity> {
    const who = requirePrincipal(principal);
    const node = await this.owned(who, nodeId);
    const m = validateMetrics(metrics ?? {});
    await recordHeartbeat(this.db, node.id, { gpuUtilization: m.gpuUtilization ?? null, gpuTemperatureC: m.gpuTemperatureC ?? null, measuredLatencyMs: m.measuredLatencyMs ?? null });
    await renewNodeLeases(this.db, node.id, new Date(Date.now() + this.leaseMs));
    await this.hooks.afterHeartbeat?.(node.id);
    return nodeByIdOrFail(this.db, node.id);
  }

  /** The caller's nodes, oldest first. */
  async mine(principal: Principal | undefined): Promise<NodeEntity[]> {
    const who = requirePrincipal(principal);
    return nodesOfProvider(this.db, who.accountId);
  }

  /**
   * What a node's work earned its provider, in wei: `settled`, in batches the chain confirmed whose credits are
   * claimable there; `pending`, charged and not claimable yet, of which `inWindow` is in confirmed batches still in
   * the escrow's challenge window; all less the protocol fee where a batch has fixed it, and none counting charges a
   * challenge refunded to their client. Undefined for a caller who is not the node's provider: earnings are private.
   */
  async earnings(principal: Principal | undefined, node: { id: string; providerId: string }): Promise<{ settled: bigint; pending: bigint; inWindow: bigint } | undefined> {
    if (!principal || principal.accountId !== node.providerId) return undefined;
    const { settled, inWindow, unconfirmed } = await nodeEarnings(this.db, node.id);
    return { settled, pending: unconfirmed + inWindow, inWindow };
  }

  /** The node, if the caller owns it: NOT_FOUND when it does not exist, FORBIDDEN when it is another's. */
  async owned(who: Principal, nodeId: string, tx?: EntityManager): Promise<NodeEntity> {
    assertId("node", nodeId);
    const node = await nodeById(tx ?? this.db.manager, nodeId);
    if (!node) throw notFound("node", nodeId);
    if (node.providerId !== who.accountId) throw forbidden("this node belongs to another provider");
    return node;
  }

  async byIds(ids: readonly string[]): Promise<NodeEntity[]> {
    return nodesByIds(this.db, ids);
  }
}

function validateRegistration(input: RegisterNodeData) {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100) throw badInput("a node's name must be 1 to 100 characters");
  const region = regionById(input.region).id;
  if (input.gpus.length < 1 || input.gpus.length > MAX_GPU_GROUPS) throw badInput(`a node has 1 to ${MAX_GPU_GROUPS} GPU groups`);
  const byMarket = new Map<string, NodeGpuGroup>();
  for (const gpu of input.gpus) {
    if (!Number.isInteger(gpu.count) || gpu.count < 1 || gpu.count > MAX_GPUS_PER_GROUP) {
      throw badInput(`a GPU group's count must be 1 to ${MAX_GPUS_PER_GROUP}, got ${gpu.count}`);
    }
    const market = marketIdOf(gpu.model, gpu.vramGb);
    const model = gpu.model.trim().slice(0, 100);
    const group = byMarket.get(market);
    if (group) group.count += gpu.count;
    else byMarket.set(market, { model, vramGb: gpu.vramGb, count: gpu.count, market });
  }
  for (const g of byMarket.values()) {
    if (g.count > MAX_GPUS_PER_GROUP) throw badInput(`at most ${MAX_GPUS_PER_GROUP} GPUs of one market per node, got ${g.count} of ${g.market}`);
  }
  const optionalInt = (v: number | null | undefined, what: string, max: number) => {
    if (v === null || v === undefined) return null;
    if (!Number.isInteger(v) || v < 1 || v > max) throw badInput(`${what} must be a whole number from 1 to ${max}`);
    return v;
  };
  const agentVersion = input.agentVersion?.trim() || null;
  if (agentVersion && agentVersion.length > 64) throw badInput("agentVersion has at most 64 characters");
  return {
    name,
    region,
    gpus: [...byMarket.values()],
    cpuCores: optionalInt(input.cpuCores, "cpuCores", 4096),
    ramGb: optionalInt(input.ramGb, "ramGb", 1 << 20),
    agentVersion,
  };
}

function validateMetrics(m: NodeMetricsData): NodeMetricsData {
  const inRange = (v: number | null | undefined, what: string, min: number, max: number) => {
    if (v !== null && v !== undefined && !(Number.isFinite(v) && v >= min && v <= max)) throw badInput(`${what} must be from ${min} to ${max}`);
  };
  inRange(m.gpuUtilization, "gpuUtilization", 0, 1);
  inRange(m.gpuTemperatureC, "gpuTemperatureC", -50, 150);
  inRange(m.measuredLatencyMs, "measuredLatencyMs", 0, 60_000);
  return m;
}

async function assertOffersFit(tx: EntityManager, nodeId: string, gpus: NodeGpuGroup[]): Promise<void> {
  const rows = await openOfferGpusOfNode(tx, nodeId);
  for (const row of rows) {
    const have = gpus.find((g) => g.market === row.market)?.count ?? 0;
    if (row.gpus > have) {
      throw conflict(`open offers sell ${row.gpus} GPUs of ${row.market} on this node but it would have ${have}; cancel or resize them first`);
    }
  }
}
