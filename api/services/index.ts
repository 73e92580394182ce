import type { DataSource } from "typeorm";
import { AccountService } from "./account.service";
import { ApiKeyService } from "./api-key.service";
import { AuthService, type AuthSettings } from "./auth.service";
import { BookCache } from "./book-cache";
import { MarketService } from "./market.service";
import { NodeService } from "./node.service";
import { OfferService } from "./offer.service";
import { JobService, type MatchRequests } from "./job.service";
import { MatchingService } from "./matching.service";
import { QuoteService } from "./quote.service";
import { ModelCatalog } from "./model-catalog";
import type { EventStreams } from "./events";
import { ChainService, type ChainSettings } from "./chain.service";
import { SettlementService, type SettlementSettings } from "./settlement.service";
import { SourceService } from "./source.service";
import { RelayService, type RateSettings } from "./relay.service";
import { AssignmentService, type LifecycleSettings } from "./assignment.service";
import { loadBook, type BookDelta } from "../db/repositories/book.repository";
import type { Logger } from "pino";
import type { BlobStore } from "../storage/blob-store";
import { ArtifactService, type ArtifactSettings } from "./artifact.service";
import { LogService, type LogSettings } from "./log.service";
import { RetentionService } from "./retention.service";
import { TransferService, type TransferLimits } from "./transfer.service";
import { TransferUrls } from "./transfer-urls";
import { DEFAULT_ORDER_LIMITS, type OrderLimits } from "./order-limits";
import { OfferListFreshness } from "./freshness";
import { systemClock, type Clock } from "./clock";
import { JobOrderService, type JobOrderSettings } from "./job-order.service";
import type { TypedDataSigner } from "./job-order";

export interface ServiceSettings extends AuthSettings {
  heartbeatWindowSeconds: number;
  bookCacheMaxAgeMs: number;
  /** How long an anonymous offers page may be served again while its market's book has not changed (0: never). */
  offerListMaxAgeMs?: number;
  matchCandidateLimit: number;
  /** The relay's OGPU/USD rates: the standing one (OGPU_USD_RATE) and how long a fed one lasts. */
  usdRates: RateSettings;
  /** The account whose escrow funds relay jobs in OGPU; unset: the relay takes no jobs. */
  relayTreasuryAddress?: string;
  /** The treasury's key (RELAY_TREASURY_KEY_FILE, _SIGNER_URL, _PRIVATE_KEY; the dev chain's #19 in dev): it signs each relay job's order. */
  relayTreasurySigner?: TypedDataSigner;
  /** The marketplace's minimum provider stake in wei; null for none. */
  minProviderStakeWei: bigint | null;
  lifecycle: LifecycleSettings;
  /** Inputs, outputs, quotas, retention; upload limits; log bounds. */
  artifacts: ArtifactSettings & { checkpointsKept: number };
  transferLimits: TransferLimits;
  logs: LogSettings;
  /** What one account may hold on the book (nodes, open offers, offers a minute, pending jobs); defaults when absent. */
  orderLimits?: OrderLimits;
  /** Settlement's batch size, age, fee and retry settings (the configuration's group: batches an operator re-batches through this process follow them). */
  settlement: Pick<SettlementSettings, "batchSize" | "maxAgeMs" | "feeBps" | "dropAfterMs" | "retryBaseMs" | "retryMaxMs">;
  /** Signed orders: how long a prepared one is valid, and what settlement may take after a job's run (7 days and 1 hour when absent). */
  orders?: Omit<JobOrderSettings, "scope">;
}

export interface ServiceDeps {
  /** Where matching is requested (the matching queue). */
  matchRequests: MatchRequests;
  /** Errors that must not fail a request (e.g. a queue that is down: the reconciler catches up). */
  onError: (err: unknown, what: string) => void;
  /** Live events for subscriptions. */
  events: EventStreams;
  /** The chain this process follows (contracts, the indexer's view of the head). */
  chain: ChainSettings;
  /** Where the bytes of inputs, outputs and checkpoints live. */
  blobStore: BlobStore;
  logger: Logger;
  /** The time of what is recorded and billed (the system clock unless a test steps its own). */
  clock?: Clock;
}

/** Every use case of the API, built once per process from its infrastructure. */
export interface Services {
  auth: AuthService;
  apiKeys: ApiKeyService;
  accounts: AccountService;
  nodes: NodeService;
  offers: OfferService;
  markets: MarketService;
  books: BookCache;
  offerLists: OfferListFreshness;
  jobs: JobService;
  jobOrders: JobOrderService;
  matching: MatchingService;
  quotes: QuoteService;
  assignments: AssignmentService;
  chain: ChainService;
  settlements: SettlementService;
  sources: SourceService;
  relay: RelayService;
  artifacts: ArtifactService;
  transfers: TransferService;
  logs: LogService;
  retention: RetentionService;
}

export function createServices(db: DataSource, settings: ServiceSettings, deps: ServiceDeps): Services {
  const clock = deps.clock ?? systemClock;
  const books = new BookCache((market) => loadBook(db, market), settings.bookCacheMaxAgeMs);
  const announce = (deltas: readonly BookDelta[]) => deltas.forEach((d) => books.announce(d.market, BigInt(d.sequence)));
  const models = new ModelCatalog(db);
  const sources = new SourceService(db);
  const urls = new TransferUrls(settings.publicUrl, settings.jwtSecret, settings.lifecycle.transferUrlTtlSeconds);
  const transfers = new TransferService(db, deps.blobStore, urls, settings.transferLimits, deps.logger, (jobId) => artifacts.resultManifest(jobId));
  const artifacts: ArtifactService = new ArtifactService(db, transfers, settings.artifacts);
  const logs = new LogService(db, settings.logs, deps.events);
  const limits = settings.orderLimits ?? DEFAULT_ORDER_LIMITS;
  const escrow = deps.chain.contracts.find((c) => c.name === "escrow")?.address;
  const jobOrders: JobOrderService = new JobOrderService(db, { ttlSeconds: 7 * 86_400, settleMarginSeconds: 3600, ...settings.orders, scope: escrow ? { chainId: deps.chain.chainId, escrow } : undefined }, (input) => jobs.validate(input), clock);
  const jobs: JobService = new JobService(db, deps.matchRequests, announce, deps.onError, models, deps.events, sources, artifacts, limits, clock, jobOrders);
  const offers = new OfferService(db, announce, async (offerId) => void deps.matchRequests.offerChanged(offerId).catch((err) => deps.onError(err, "enqueue resting-bid matching")), {
    limits,
    heartbeatWindowSeconds: settings.heartbeatWindowSeconds,
  });
  const matchingSettings = {
    heartbeatWindowSeconds: settings.heartbeatWindowSeconds,
    candidateLimit: settings.matchCandidateLimit,
    explainLimit: settings.matchCandidateLimit,
    leaseMs: settings.lifecycle.leaseMs,
    minStakeWei: settings.minProviderStakeWei,
  };
  return {
    auth: new AuthService(db, settings),
    apiKeys: new ApiKeyService(db),
    accounts: new AccountService(db),
    nodes: new NodeService(db, settings.heartbeatWindowSeconds, settings.lifecycle.leaseMs, { limits, afterHeartbeat: (nodeId) => offers.returnNode(nodeId) }),
    offers,
    markets: new MarketService(db, books, deps.events, (err) => deps.onError(err, "compute a market ticker")),
    books,
    offerLists: new OfferListFreshness(books, settings.offerListMaxAgeMs ?? 1000),
    jobs,
    jobOrders,
    sources,
    relay: new RelayService(db, jobs, settings.usdRates, settings.relayTreasuryAddress, { artifacts, logs }, settings.relayTreasurySigner ? { signer: settings.relayTreasurySigner, orders: jobOrders } : undefined),
    matching: new MatchingService(db, matchingSettings, announce),
    quotes: new QuoteService(db, matchingSettings, models),
    chain: new ChainService(db, deps.chain),
    settlements: new SettlementService(db, {
      chainId: deps.chain.chainId,
      escrow: escrow ?? "",
      ...settings.settlement,
    }),
    assignments: new AssignmentService(db, settings.lifecycle, announce, deps.matchRequests, deps.onError, deps.events, urls, artifacts, clock),
    artifacts,
    transfers,
    logs,
    retention: new RetentionService(db, deps.blobStore, {
      resultRetentionMs: settings.artifacts.resultRetentionMs,
      unusedGraceMs: 86_400_000,
      checkpointsKept: settings.artifacts.checkpointsKept,
    }),
  };
}

export type { Principal } from "./principal";
