import type { ApiKeyEntity } from "../db/entities/api-key.entity";
import type { NodeEntity } from "../db/entities/node.entity";
import type { OfferEntity } from "../db/entities/offer.entity";
import type { BookSnapshot } from "../db/repositories/book.repository";
import type { AssignmentRecord, JobExclusion, JobRecord } from "../db/repositories/job.repository";
import type { TradeRecord } from "../db/repositories/trade.repository";
import type { Candle as CandleData } from "../../pricing";
import type { MarketSummary } from "../services/market.service";
import type { Quote as QuoteData } from "../services/quote.service";
import { OfferService } from "../services/offer.service";
import { AssignmentStatus, ExclusionReason, JobKind, JobStatus, MatchStrategy, NodeStatus, OfferStatus, TimeInForce } from "./enums";
import type { Account, ApiKey, Reputation } from "./types/account.type";
import type { ReputationView } from "../services/account.service";
import type { Assignment, Checkpoint, Exclusion, Job, JobProgressUpdate } from "./types/job.type";
import type { CheckpointRecord, JobProgressEvent } from "../db/repositories/lifecycle.repository";
import type { Candle, Market, OrderBook, Quote, Trade } from "./types/market.type";
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
    gpuUtilization: n.gpuUtilization,
    gpuTemperatureC: n.gpuTemperatureC,
    createdAt: n.createdAt,
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
    clientOrderId: o.clientOrderId,
    postOnly: o.postOnly,
    cancelOnDisconnect: o.cancelOnDisconnect,
    withdrawn: o.withdrawnAt !== null,
    nodeId: o.nodeId,
    providerId: o.providerId,
  };
}

export function toApiKey(k: ApiKeyEntity): ApiKey {
  return { id: k.id, name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt };
}

/** An account as shown; `address` is already EIP-55 checksummed (AccountService does it once). */
export function toAccount(address: string, accountId: string | null, reputation?: ReputationView): Account {
  return { address, accountId, reputation: reputation ? toReputation(reputation) : null };
}

export function toReputation(r: ReputationView): Reputation {
  return { ...r, disputedJobs: r.rejectedJobs };
}

export function toMarket(m: MarketSummary): Market {
  return {
    id: m.id,
    gpuModel: m.gpuModel,
    vramGb: m.vramGb,
    bestAsk: m.bestAskWei,
    bestBid: m.bestBidWei,
    lastPrice: m.lastPriceWei,
    volume24h: m.volume24hGpus,
    openOffers: m.openOffers,
    availableGpus: m.availableGpus,
    utilization: m.utilization,
    referencePrice: m.referencePriceWei,
    demandGpus: m.demandGpus,
    suggestedPrice: m.suggestedPriceWei,
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

export function toExclusion(e: JobExclusion): Exclusion {
  return { reason: ExclusionReason[e.reason as keyof typeof ExclusionReason], message: e.message, offers: e.offers };
}

export function toJob(j: JobRecord): Job {
  return {
    id: j.id,
    status: JobStatus[j.status],
    kind: JobKind[j.kind as keyof typeof JobKind],
    progress: j.progress,
    statusMessage: j.statusMessage,
    excluded: j.status === "PENDING" ? (j.excluded ?? []).map(toExclusion) : null,
    cost: j.costWei,
    hold: j.holdWei,
    maxPricePerGpuHour: j.maxPriceWei,
    maxDurationSeconds: j.maxDurationSeconds,
    redundancy: j.redundancy,
    requirements: {
      gpuCount: j.gpuCount,
      minVramGb: j.minVramGb,
      gpuModels: j.gpuModels,
      region: j.region,
      maxLatencyMs: j.maxLatencyMs,
      minReputation: j.minReputation,
      maxPricePerGpuHour: j.maxPriceWei,
      maxDurationSeconds: j.maxDurationSeconds,
      redundancy: j.redundancy,
      strategy: MatchStrategy[j.strategy],
    },
    image: j.image,
    command: j.command,
    env: j.env?.map((e) => ({ name: e.name, value: e.value, secret: (e as { secret?: boolean }).secret === true })) ?? null,
    inputUri: j.inputUri,
    checkpointIntervalSeconds: j.checkpointIntervalSeconds,
    result: j.resultHash ? { hash: j.resultHash, uri: j.resultUri, agreedBy: j.agreedBy ?? 0, sizeBytes: null, downloadUrl: null, expiresAt: null } : null,
    endedAt: j.endedAt,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    matchedAt: j.matchedAt,
    clientOrderId: j.clientOrderId,
    timeInForce: TimeInForce[j.timeInForce],
    clientId: j.clientId,
  };
}

export function toAssignment(a: AssignmentRecord): Assignment {
  return {
    id: a.id,
    status: AssignmentStatus[a.status],
    attempt: a.attempt,
    replica: a.replica,
    gpus: a.gpus,
    pricePerGpuHour: a.priceWei,
    startedAt: a.startedAt,
    endedAt: a.endedAt,
    resultHash: a.resultHash,
    resumedFromStep: a.resumedFromStep,
    leaseExpiresAt: a.leaseExpiresAt,
    progress: a.progress,
    failReason: a.failReason,
    cost: a.costWei,
    createdAt: a.createdAt,
    nodeId: a.nodeId,
    providerId: a.providerId,
    offerId: a.offerId,
    jobId: a.jobId,
  };
}

export function toTrade(t: TradeRecord): Trade {
  return { id: t.id, market: t.market, price: t.priceWei, gpus: t.gpus, executedAt: t.executedAt, jobId: t.jobId, clientId: t.clientId };
}

export function toCandle(c: CandleData): Candle {
  return { openTime: new Date(c.openTimeMs), open: c.openWei, high: c.highWei, low: c.lowWei, close: c.closeWei, volume: c.volumeGpus, trades: c.trades };
}

export function toQuote(q: QuoteData): Quote {
  return {
    matchingOffers: q.matchingOffers,
    bestPricePerGpuHour: q.bestPriceWei,
    estimatedCost: q.estimatedCostWei,
    maxCost: q.maxCostWei,
    expectedWaitSeconds: q.expectedWaitSeconds,
    excluded: q.excluded.map(toExclusion),
  };
}

export function toCheckpoint(c: CheckpointRecord): Checkpoint {
  return { step: c.step, sha256: c.sha256, sizeBytes: c.sizeBytes, createdAt: c.createdAt };
}

export function toJobProgress(e: JobProgressEvent): JobProgressUpdate {
  return { jobId: e.jobId, status: JobStatus[e.status], progress: e.progress, message: e.message, assignmentId: e.assignmentId, at: new Date(e.at) };
}
