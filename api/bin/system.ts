import "reflect-metadata";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import type { DataSource } from "typeorm";
import type { App } from "../app";
import { settlementConfig, type Config } from "../config";
import { createDataSource } from "../db/data-source";
import { ensureDatabase } from "../db/ensure-database";
import { ASSIGNMENT_OFFERED_TOPIC, JOB_PROGRESS_TOPIC } from "../db/repositories/lifecycle.repository";
import { JOB_LOGS_TOPIC } from "../db/repositories/log.repository";
import { setMigrationBlobStore } from "../db/migrations/migration-context";
import { createBlobStore } from "./storage-side";
import { BOOK_DELTA_TOPIC } from "../db/repositories/book.repository";
import { TRADE_TOPIC } from "../db/repositories/match.repository";
import { Queue } from "bullmq";
import { MAINTENANCE_QUEUE } from "../queues/maintenance.queue";
import { MatchQueue } from "../queues/matching.queue";
import { logConnectionErrors } from "../queues/connection-errors";
import { EventHub } from "../pubsub/event-hub";
import { startChainMonitor } from "../chain/chain-monitor";
import type { IndexerRunner } from "../chain/indexer.runner";
import { createServices, type Services } from "../services";
import { relayTreasury } from "./relay-treasury";
import { systemClock, type Clock } from "../services/clock";
import { parseDecimal, parseUsd } from "../../pricing";
import { createRpcProvider } from "../../contracts/rpc";
import type { DevChain } from "../../contracts/dev-chain";
import { ChainHealth } from "../../indexer";
import { startApiRole } from "./api-role";
import { configuredContracts, connectChain } from "./chain-side";
import type { Infrastructure } from "./infrastructure";
import { startIndexerRole } from "./indexer-role";
import { Shutdown } from "./shutdown";
import { startWorkerRole } from "./worker-role";

/** How long an instance serves a market's book from its cache at most (a newer sequence from the feed drops it sooner). */
const BOOK_CACHE_MAX_AGE_MS = 5000;

export interface Roles {
  api: boolean;
  worker: boolean;
  /** Follows the chain (and, without CHAIN_RPC_URL, runs the in-process dev chain first). */
  indexer?: boolean;
}

export interface System {
  config: Config;
  db: DataSource;
  services: Services;
  logger: Logger;
  app?: App;
  port?: number;
  /** The in-process dev chain, when this process runs one. */
  devChain?: DevChain;
  stop(): Promise<void>;
}

const MIGRATION_LOCK = 0x67780000;

/** Creates the database if missing and runs pending migrations, one process at a time (advisory lock). */
export async function prepareDatabase(config: Config, logger: Logger): Promise<DataSource> {
  if (await ensureDatabase(config.DATABASE_URL)) logger.info("created the database");
  // a migration moves checkpoint bytes out of Postgres into the store
  setMigrationBlobStore(createBlobStore(config));
  const db = createDataSource(config.DATABASE_URL);
  await db.initialize();
  const runner = db.createQueryRunner();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const ran = await db.runMigrations({ transaction: "each" });
    if (ran.length > 0) logger.info({ migrations: ran.map((m) => m.name) }, "ran migrations");
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
  return db;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.LOG_LEVEL,
    redact: { paths: ["authorization", "*.authorization", "req.headers.authorization", "secret", "*.secret", "token", "*.token", "password", "*.password"], censor: "[redacted]" },
  });
}

/** What a process may be given rather than build: its logger, and the clock services record time by (tests step one). */
export interface SystemOptions {
  logger?: Logger;
  clock?: Clock;
}

/** Starts the roles asked for (api: HTTP + WebSocket; worker: outbox relay + queues) on one database and Redis. */
export async function startSystem(config: Config, roles: Roles, options: SystemOptions = {}): Promise<System> {
  const { logger = createLogger(config), clock = systemClock } = options;
  if (config.jwtSecretGenerated) logger.warn("JWT_SECRET is not set: generated one for this process; sessions end when it stops");
  const db = await prepareDatabase(config, logger);
  const redisOptions = { maxRetriesPerRequest: null, lazyConnect: false };
  const redis = new Redis(config.REDIS_URL, redisOptions);
  // the pub/sub connection skips the INFO ready check and CLIENT SETINFO: in ioredis 5 they can race a SUBSCRIBE
  // sent while connecting or re-subscribing after a reconnect, and Redis refuses them in subscriber mode
  // (ioredis#2037, fixed in 6, which BullMQ does not take yet)
  const subscriber = new Redis(config.REDIS_URL, { ...redisOptions, enableReadyCheck: false, disableClientInfo: true });
  logConnectionErrors(redis, logger, "Redis");
  logConnectionErrors(subscriber, logger, "Redis (pub/sub)");
  const matchQueue = new MatchQueue(redis, config.QUEUE_PREFIX, config.MATCH_BATCH_SIZE);
  logConnectionErrors(matchQueue.queue, logger, "matching queue");
  const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  logConnectionErrors(maintenanceQueue, logger, "maintenance queue");
  const events = new EventHub(
    subscriber,
    config.QUEUE_PREFIX,
    {
      [JOB_PROGRESS_TOPIC]: (p) => (typeof p.jobId === "string" ? p.jobId : undefined),
      [JOB_LOGS_TOPIC]: (p) => (typeof p.jobId === "string" ? p.jobId : undefined),
      [ASSIGNMENT_OFFERED_TOPIC]: (p) => (typeof p.nodeId === "string" ? p.nodeId : undefined),
      [BOOK_DELTA_TOPIC]: (p) => (typeof p.market === "string" ? p.market : undefined),
      [TRADE_TOPIC]: (p) => (typeof p.market === "string" ? p.market : undefined),
    },
    logger,
  );
  const chainSide = roles.indexer ? await connectChain(config, logger) : undefined;
  const chainHealth = new ChainHealth();
  let indexer: IndexerRunner | undefined;
  // an API-only process watches the chain node itself (indexerStatus and /readyz say when it is unreachable)
  const monitorProvider =
    !chainSide && config.CHAIN_RPC_URL && roles.api ? createRpcProvider(config.CHAIN_RPC_URL, config.CHAIN_ID, { timeoutMs: config.CHAIN_RPC_TIMEOUT_MS, retries: 0 }) : undefined;
  const blobStore = createBlobStore(config);
  // only a process that serves the relay holds the treasury's key
  const treasury = roles.api ? await relayTreasury(config, chainSide) : { address: config.RELAY_TREASURY_ADDRESS ?? chainSide?.devTreasury };
  const services = createServices(db, {
    publicUrl: config.PUBLIC_URL,
    chainId: config.CHAIN_ID,
    jwtSecret: config.JWT_SECRET,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    challengeTtlSeconds: config.CHALLENGE_TTL_SECONDS,
    heartbeatWindowSeconds: config.HEARTBEAT_WINDOW_SECONDS,
    bookCacheMaxAgeMs: BOOK_CACHE_MAX_AGE_MS,
    offerListMaxAgeMs: config.OFFERS_CACHE_MAX_AGE_MS,
    matchCandidateLimit: config.MATCH_CANDIDATE_LIMIT,
    usdRates: { standingMicros: config.OGPU_USD_RATE === undefined ? undefined : parseUsd(config.OGPU_USD_RATE), maxAgeSeconds: config.USD_RATE_MAX_AGE_SECONDS },
    relayTreasuryAddress: treasury.address,
    relayTreasurySigner: treasury.signer,
    minProviderStakeWei: parseDecimal(config.MIN_PROVIDER_STAKE) > 0n ? parseDecimal(config.MIN_PROVIDER_STAKE) : null,
    settlement: settlementConfig(config),
    orders: { ttlSeconds: config.ORDER_TTL_SECONDS, settleMarginSeconds: config.ORDER_SETTLE_MARGIN_SECONDS },
    orderLimits: {
      maxNodesPerAccount: config.MAX_NODES_PER_ACCOUNT,
      maxOpenOffersPerAccount: config.MAX_OPEN_OFFERS_PER_ACCOUNT,
      maxOpenOffersPerMarket: config.MAX_OPEN_OFFERS_PER_MARKET,
      maxOffersPerMinute: config.MAX_OFFERS_PER_MINUTE,
      maxPendingJobsPerAccount: config.MAX_PENDING_JOBS_PER_ACCOUNT,
    },
    lifecycle: {
      leaseMs: config.LEASE_SECONDS * 1000,
      silenceMs: config.FAILOVER_SILENCE_SECONDS > 0 ? config.FAILOVER_SILENCE_SECONDS * 1000 : undefined,
      maxAttempts: config.MAX_ATTEMPTS,
      checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES,
      transferUrlTtlSeconds: config.TRANSFER_URL_TTL_SECONDS,
    },
    artifacts: {
      storageQuotaBytes: BigInt(config.STORAGE_QUOTA_BYTES),
      inputMaxBytes: config.INPUT_MAX_BYTES,
      outputMaxBytes: config.OUTPUT_MAX_BYTES,
      maxOutputs: config.OUTPUT_MAX_FILES,
      maxInputs: config.JOB_MAX_INPUTS,
      resultRetentionMs: config.RESULT_RETENTION_DAYS * 86_400_000,
      checkpointsKept: config.CHECKPOINTS_KEPT,
    },
    transferLimits: { checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES, inputMaxBytes: config.INPUT_MAX_BYTES, outputMaxBytes: config.OUTPUT_MAX_BYTES },
    logs: { maxLinesPerAssignment: config.LOG_MAX_LINES, maxBytesPerAssignment: config.LOG_MAX_BYTES, maxLineBytes: config.LOG_LINE_MAX_BYTES, maxBatch: 500 },
  }, {
    blobStore,
    logger,
    clock,
    matchRequests: matchQueue,
    onError: (err, what) => logger.warn({ err }, `${what} failed; the reconciler catches up`),
    events,
    chain: {
      chainId: chainSide?.chainId ?? config.CHAIN_ID,
      contracts: chainSide?.contracts ?? configuredContracts(config),
      head: () => indexer?.last().head,
      health: () => chainHealth.view(),
    },
  });
  const shutdown = new Shutdown(logger);
  shutdown.add("the database pool", () => db.destroy());
  shutdown.add("Redis", async () => {
    subscriber.disconnect();
    if (redis.status === "ready") await redis.quit().catch(() => undefined);
    redis.disconnect();
  });
  shutdown.add("the matching producer", () => matchQueue.close());
  shutdown.add("the maintenance queue", () => maintenanceQueue.close());
  if (chainSide) shutdown.add("the chain", chainSide.stop);
  if (monitorProvider) {
    const monitor = startChainMonitor({ head: async () => BigInt(await monitorProvider.getBlockNumber()), health: chainHealth, intervalMs: config.CHAIN_MONITOR_MS, logger });
    shutdown.add("the chain monitor", async () => {
      await monitor.stop();
      monitorProvider.destroy();
    });
  }
  const system: System = { config, db, services, logger, devChain: chainSide?.dev, stop: () => shutdown.run() };
  const infra: Infrastructure = { config, logger, clock, db, redis, subscriber, matchQueue, maintenanceQueue, events, services, shutdown, chainHealth, chainSide, monitorProvider };
  try {
    if (roles.worker) await startWorkerRole(infra);
    if (roles.indexer && chainSide) indexer = await startIndexerRole(infra, chainSide);
    if (roles.api) ({ app: system.app, port: system.port } = await startApiRole(infra));
  } catch (err) {
    await system.stop();
    throw err;
  }
  return system;
}
