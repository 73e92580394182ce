import type { DataSource } from "typeorm";
import { OfferEntity, type OfferStatusValue } from "../entities/offer.entity";
import { NodeEntity, type NodeGpuGroup } from "../entities/node.entity";
import type { AccountRow } from "./account.repository";
import { readQuery } from "../query";

export interface OfferFilterData {
  market?: string;
  minVramGb?: number;
  maxPriceWei?: bigint;
  region?: string;
  /** Defaults to OPEN. */
  status?: OfferStatusValue;
}

export interface OfferPage {
  offers: OfferEntity[];
  cursors: string[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
  /** The page's nodes and providers, read by the same statement (for the request's loaders). */
  nodes: NodeEntity[];
  providers: AccountRow[];
}

/** Opaque cursor of an offer's place in price-then-age order. */
export function offerCursor(o: Pick<OfferEntity, "priceWei" | "ordinal">): string {
  return Buffer.from(`o:${o.priceWei}:${o.ordinal}`).toString("base64url");
}

/** Decodes an offer cursor; undefined when it is not one of ours. */
export function decodeOfferCursor(cursor: string): { priceWei: bigint; ordinal: bigint } | undefined {
  const match = /^o:(\d{1,78}):(\d{1,20})$/.exec(Buffer.from(cursor, "base64url").toString());
  return match ? { priceWei: BigInt(match[1]), ordinal: BigInt(match[2]) } : undefined;
}

/** The filter as SQL over `offers o`, with its parameters from $1. */
function filterSql(filter: OfferFilterData, now: Date): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const add = (value: unknown) => `$${params.push(value)}`;
  const status = filter.status ?? "OPEN";
  const terms =
    status === "OPEN"
      ? [`o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > ${add(now)})`]
      : status === "EXPIRED"
        ? [`(o.status = 'EXPIRED' OR (o.status = 'OPEN' AND o.expires_at <= ${add(now)}))`]
        : [`o.status = ${add(status)}`];
  if (filter.market) terms.push(`o.market = ${add(filter.market)}`);
  if (filter.minVramGb !== undefined) terms.push(`o.vram_gb >= ${add(filter.minVramGb)}`);
  if (filter.maxPriceWei !== undefined) terms.push(`o.price_wei <= ${add(filter.maxPriceWei.toString())}::numeric`);
  if (filter.region) terms.push(`o.region = ${add(filter.region)}`);
  return { where: terms.join(" AND "), params };
}

const OFFER_COLUMNS = `o.id, o.ordinal, o.node_id, o.provider_id, o.market, o.gpu_model, o.vram_gb, o.region, o.price_wei, o.gpu_count,
  o.available_gpus, o.min_duration_seconds, o.status, o.expires_at, o.client_order_id, o.post_only, o.cancel_on_disconnect,
  o.withdrawn_at, o.created_at, o.updated_at`;
const NODE_COLUMNS = `n.provider_id AS n_provider_id, n.name AS n_name, n.region AS n_region, n.gpus AS n_gpus, n.cpu_cores AS n_cpu_cores,
  n.ram_gb AS n_ram_gb, n.agent_version AS n_agent_version, n.last_heartbeat_at AS n_last_heartbeat_at,
  n.gpu_utilization AS n_gpu_utilization, n.gpu_temperature_c AS n_gpu_temperature_c, n.measured_latency_ms AS n_measured_latency_ms,
  n.created_at AS n_created_at, n.updated_at AS n_updated_at`;
const PROVIDER_COLUMNS = `a.address AS a_address, a.completed_jobs AS a_completed_jobs, a.failed_jobs AS a_failed_jobs,
  a.expired_jobs AS a_expired_jobs, a.rejected_jobs AS a_rejected_jobs, coalesce(s.staked_wei, 0) AS a_staked_wei`;

type PageRow = Record<string, unknown> & { id: string | null; total_count?: string };

function offerOf(r: PageRow): OfferEntity {
  return Object.assign(new OfferEntity(), {
    id: r.id as string,
    ordinal: BigInt(r.ordinal as string),
    nodeId: r.node_id as string,
    providerId: r.provider_id as string,
    market: r.market as string,
    gpuModel: r.gpu_model as string,
    vramGb: r.vram_gb as number,
    region: r.region as string,
    priceWei: BigInt(r.price_wei as string),
    gpuCount: r.gpu_count as number,
    availableGpus: r.available_gpus as number,
    minDurationSeconds: r.min_duration_seconds as number | null,
    status: r.status as OfferStatusValue,
    expiresAt: r.expires_at as Date | null,
    clientOrderId: r.client_order_id as string | null,
    postOnly: r.post_only as boolean,
    cancelOnDisconnect: r.cancel_on_disconnect as boolean,
    withdrawnAt: r.withdrawn_at as Date | null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  });
}

function nodeOf(r: PageRow): NodeEntity {
  return Object.assign(new NodeEntity(), {
    id: r.node_id as string,
    providerId: r.n_provider_id as string,
    name: r.n_name as string,
    region: r.n_region as string,
    gpus: r.n_gpus as NodeGpuGroup[],
    cpuCores: r.n_cpu_cores as number | null,
    ramGb: r.n_ram_gb as number | null,
    agentVersion: r.n_agent_version as string | null,
    lastHeartbeatAt: r.n_last_heartbeat_at as Date | null,
    gpuUtilization: r.n_gpu_utilization as number | null,
    gpuTemperatureC: r.n_gpu_temperature_c as number | null,
    measuredLatencyMs: r.n_measured_latency_ms as number | null,
    createdAt: r.n_created_at as Date,
    updatedAt: r.n_updated_at as Date,
  });
}

function providerOf(r: PageRow): AccountRow {
  return {
    id: r.provider_id as string,
    address: r.a_address as string,
    completed_jobs: r.a_completed_jobs as number,
    failed_jobs: r.a_failed_jobs as number,
    expired_jobs: r.a_expired_jobs as number,
    rejected_jobs: r.a_rejected_jobs as number,
    staked_wei: String(r.a_staked_wei),
  };
}

/**
 * One page of offers matching a filter, cheapest first then oldest, after a cursor (keyset pagination, index
 * `offers_book_idx`), with each offer's node and provider, and with the filter's total when `withCount`: one
 * statement and one round trip. An OPEN offer past its expiry counts as EXPIRED. Without `withCount`, totalCount runs
 * its own count when asked.
 */
export async function listOffers(
  db: DataSource,
  filter: OfferFilterData,
  first: number,
  after: { priceWei: bigint; ordinal: bigint } | undefined,
  now: Date,
  withCount = false,
): Promise<OfferPage> {
  const { where, params } = filterSql(filter, now);
  const pageParams = [...params];
  const add = (value: unknown) => `$${pageParams.push(value)}`;
  const keyset = after ? ` AND (o.price_wei, o.ordinal) > (${add(after.priceWei.toString())}::numeric, ${add(after.ordinal.toString())}::bigint)` : "";
  const page = `SELECT ${OFFER_COLUMNS}, ${NODE_COLUMNS}, ${PROVIDER_COLUMNS}
      FROM offers o JOIN nodes n ON n.id = o.node_id JOIN accounts a ON a.id = o.provider_id LEFT JOIN stakes s ON s.account_id = o.provider_id
     WHERE ${where}${keyset} ORDER BY o.price_wei, o.ordinal LIMIT ${add(first + 1)}`;
  const rows = withCount
    ? await readQuery<PageRow>(db, `SELECT c.total_count, p.* FROM (SELECT count(*) AS total_count FROM offers o WHERE ${where}) c LEFT JOIN LATERAL (${page}) p ON true ORDER BY p.price_wei, p.ordinal`, pageParams)
    : await readQuery<PageRow>(db, page, pageParams);
  const found = rows.filter((r) => r.id !== null);
  const kept = found.slice(0, first);
  const offers = kept.map(offerOf);
  const total = withCount ? Number(rows[0]?.total_count ?? 0) : undefined;
  return {
    offers,
    cursors: offers.map(offerCursor),
    hasNextPage: found.length > first,
    totalCount: async () => total ?? Number((await readQuery<{ n: string }>(db, `SELECT count(*) AS n FROM offers o WHERE ${where}`, params))[0].n),
    nodes: [...new Map(kept.map((r) => [r.node_id as string, nodeOf(r)])).values()],
    providers: [...new Map(kept.map((r) => [r.provider_id as string, providerOf(r)])).values()],
  };
}
