import type { ApiKeyEntity } from "../db/entities/api-key.entity";
import type { NodeEntity } from "../db/entities/node.entity";
import type { OfferEntity } from "../db/entities/offer.entity";
import type { BookSnapshot } from "../db/repositories/book.repository";
import type { MarketSummary } from "../services/market.service";
import { OfferService } from "../services/offer.service";
import { NodeStatus, OfferStatus } from "./enums";
import type { Account, ApiKey } from "./types/account.type";
import type { Market, OrderBook } from "./types/market.type";
import type { Node } from "./types/node.type";
import type { Offer } from "./types/offer.type";

export function toNode(n: NodeEntity, status: "ONLINE" | "OFFLINE"): Node {
  return {
    id: n.id,
    name: n.name,
    region: n.region,
    status: NodeStatus[status],
    lastHeartbeatAt: n.lastHeartbeatAt,
    gpus: n.gpus.map((g) => ({ model: g.model, vramGb: g.vramGb, count: g.count, market: g.market })),
    cpuCores: n.cpuCores,
    ramGb: n.ramGb,
    agentVersion: n.agentVersion,
    measuredLatencyMs: n.measuredLatencyMs,
    createdAt: n.createdAt,
    earnings: null,
    providerId: n.providerId,
  };
}

export function toOffer(o: OfferEntity, now = new Date()): Offer {
  return {
    id: o.id,
    market: o.market,
    gpuModel: o.gpuModel,
    vramGb: o.vramGb,
    region: o.region,
    pricePerGpuHour: o.priceWei,
    gpuCount: o.gpuCount,
    availableGpus: o.availableGpus,
    minDurationSeconds: o.minDurationSeconds,
    status: OfferStatus[OfferService.visibleStatus(o, now)],
    expiresAt: o.expiresAt,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    nodeId: o.nodeId,
    providerId: o.providerId,
  };
}

export function toApiKey(k: ApiKeyEntity): ApiKey {
  return { id: k.id, name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt };
}

/** An account as shown; `address` is already EIP-55 checksummed (AccountService does it once). */
export function toAccount(address: string, accountId: string | null): Account {
  return { address, accountId, reputation: null };
}

export function toMarket(m: MarketSummary): Market {
  return {
    id: m.id,
    gpuModel: m.gpuModel,
    vramGb: m.vramGb,
    bestAsk: m.bestAskWei,
    bestBid: null,
    lastPrice: null,
    volume24h: null,
    openOffers: m.openOffers,
    availableGpus: m.availableGpus,
    utilization: m.utilization,
    suggestedPrice: null,
    sequence: m.sequence,
  };
}

const mappedBooks = new WeakMap<BookSnapshot, OrderBook>();

/** Snapshots are immutable, so each is mapped once (hot order-book reads share the result). */
export function toOrderBook(b: BookSnapshot): OrderBook {
  const cached = mappedBooks.get(b);
  if (cached) return cached;
  const level = (l: { priceWei: bigint; gpus: number; orders: number }) => ({ price: l.priceWei, gpus: l.gpus, orders: l.orders });
  const mapped = { market: b.market, sequence: b.sequence, asks: b.asks.map(level), bids: b.bids.map(level) };
  mappedBooks.set(b, mapped);
  return mapped;
}
