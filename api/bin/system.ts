import "reflect-metadata";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import type { DataSource } from "typeorm";
import { createApp, type App } from "../app";
import type { Config } from "../config";
import { createDataSource } from "../db/data-source";
import { ensureDatabase } from "../db/ensure-database";
import { createSchema } from "../graphql/schema";
import { createMetrics, registerSystemGauges } from "../http/metrics";
import { followBookAnnouncements } from "../queues/book-announcements";
import { Queue } from "bullmq";
import { MAINTENANCE_QUEUE, startMaintenance } from "../queues/maintenance.queue";
import { OutboxRelay } from "../queues/outbox-relay";
import { MatchQueue, startMatching } from "../queues/matching.queue";
import { within } from "../queues/within";
import { logConnectionErrors } from "../queues/connection-errors";
import { redisRateLimiter } from "../queues/rate-limiter";
import { EventHub } from "../queues/event-hub";
import { ASSIGNMENT_OFFERED_TOPIC, JOB_PROGRESS_TOPIC } from "../db/repositories/lifecycle.repository";
import { BOOK_DELTA_TOPIC } from "../db/repositories/book.repository";
import { TRADE_TOPIC } from "../db/repositories/match.repository";
import { createServices, type Services } from "../services";
import { getAddress, JsonRpcProvider } from "ethers";
import { abiOf } from "../../contracts";
import { parseDecimal, parseUsd } from "../../pricing";
import { DEV_MNEMONIC, DEV_TREASURY_INDEX, deployDevContracts, depositDevTreasury, startDevChain, type DevChain } from "../../contracts/dev-chain";
import { EthersChain } from "../../indexer/adapters/ethers-chain";
import { PgChainStore } from "../db/repositories/chain-store";
import { startIndexer, type IndexerRunner } from "../queues/indexer.runner";
import { ethersSettlementWriter, sendSlashes, startSettlement, syncHolds } from "../queues/settlement.runner";
import { SettlementService } from "../services/settlement.service";
import { dedicatedConnections } from "../db/dedicated";
import { createRpcProvider } from "../../contracts/rpc";
import { ChainHealth } from "../../indexer";
import { chainProbe } from "../http/health";
import { startChainMonitor } from "../queues/chain-monitor";
import type { SettlementRunner } from "../queues/settlement.runner";
import { Shutdown } from "./shutdown";

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

interface ChainSide {
  dev?: DevChain;
  /** The dev chain's relay treasury (account #19, with escrow deposited). */
  devTreasury?: string;
  chainId: bigint;
  provider: JsonRpcProvider;
  escrow: string;
  staking: string;
  startBlock: bigint;
  contracts: { name: string; address: string }[];
  stop: () => Promise<void>;
}

function configuredContracts(config: Config): { name: string; address: string }[] {
  const named: [string, string | undefined][] = [["token", config.TOKEN_ADDRESS], ["escrow", config.ESCROW_ADDRESS], ["staking", config.STAKING_ADDRESS]];
  return named.filter((c): c is [string, string] => c[1] !== undefined).map(([name, address]) => ({ name, address: getAddress(address) }));
}

/**
 * The chain this process follows: CHAIN_RPC_URL with the configured contracts, or else an in-process dev EVM on
 * 127.0.0.1:CHAIN_PORT with the contracts deployed and the test mnemonic's accounts funded (printed for wallets).
 */
async function connectChain(config: Config, logger: Logger): Promise<ChainSide> {
  if (config.CHAIN_RPC_URL) {
    const provider = createRpcProvider(config.CHAIN_RPC_URL, config.CHAIN_ID, { timeoutMs: config.CHAIN_RPC_TIMEOUT_MS, retries: config.CHAIN_RPC_RETRIES });
    return {
      chainId: config.CHAIN_ID,
      provider,
      escrow: config.ESCROW_ADDRESS!,
      staking: config.STAKING_ADDRESS!,
      startBlock: config.CHAIN_START_BLOCK,
      contracts: configuredContracts(config),
      stop: async () => provider.destroy(),
    };
  }
  const dev = await startDevChain({ port: config.CHAIN_PORT, chainId: Number(config.CHAIN_ID) });
  const deployment = await deployDevContracts(dev);
  const devTreasury = await depositDevTreasury(dev, deployment);
  const contracts = [
    { name: "token", address: deployment.token },
    { name: "escrow", address: deployment.escrow },
    { name: "staking", address: deployment.staking },
  ];
  logger.info({ rpc: dev.url, chainId: dev.chainId, contracts }, "dev chain: in-process EVM with the contracts deployed");
  printDevAccounts(dev, contracts);
  return {
    dev,
    devTreasury,
    chainId: BigInt(dev.chainId),
    provider: dev.provider,
    escrow: deployment.escrow,
    staking: deployment.staking,
    startBlock: BigInt(deployment.deploymentBlock),
    contracts,
    stop: () => dev.stop(),
  };
}

/** The dev chain's funded accounts (the public Hardhat test mnemonic), for wallets, agents and tests. */
function printDevAccounts(dev: DevChain, contracts: { name: string; address: string }[]): void {
  const lines = [
    `Dev chain: JSON-RPC ${dev.url}, chain id ${dev.chainId}. ${contracts.map((c) => `${c.name} ${c.address}`).join(", ")}`,
    `Accounts of the test mnemonic "${DEV_MNEMONIC}" (10,000 ETH and 1,000,000 OGPU each; public keys, never use them elsewhere):`,
    ...dev.accounts.slice(0, 20).map((a, i) => `  #${i} ${a.address} ${a.privateKey}`),
    `#${DEV_TREASURY_INDEX} is the relay's OGPU treasury (500,000 OGPU in escrow; set RELAY_TREASURY_ADDRESS to use another).`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/**
 * The shared rate limiter on a Redis connection of its own that fails fast (no offline queue, a command timeout), so
 * a request never waits on a Redis that is down: the limiter counts per process meanwhile, with a log line and a metric.
 */
async function rateLimiterOn(config: Config, metrics: ReturnType<typeof createMetrics>, logger: Logger, shutdown: Shutdown) {
  const client = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, connectTimeout: 2000, lazyConnect: true });
  client.on("error", () => undefined);
  shutdown.add("the rate limiter's Redis", () => client.disconnect());
  // connected before the first request when Redis is up; a Redis down at start only means starting degraded
  await within(client.connect(), 2000, "connecting the rate limiter").catch(() => undefined);
  return redisRateLimiter(client, config.QUEUE_PREFIX, config.RATE_LIMIT_PER_MINUTE, 60_000, {
    degraded: (err) => {
      metrics.rateLimiterDegraded.set(1);
      logger.warn({ err: { message: (err as Error).message } }, "rate limiter: Redis does not answer; counting per process until it does");
    },
    restored: () => {
      metrics.rateLimiterDegraded.set(0);
      logger.info("rate limiter: Redis answers again; counts are shared");
    },
  });
}

/** The chain node's readiness check, from what this process's calls found (asked directly before any). */
function chainProbeFor(provider: JsonRpcProvider | undefined, health: ChainHealth) {
  if (!provider) return undefined;
  const ask = async () => {
    try {
      health.ok(BigInt(await provider.getBlockNumber()));
    } catch (err) {
      health.failed(err);
    }
  };
  return { chain: chainProbe(() => health.view(), ask) };
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.LOG_LEVEL,
    redact: { paths: ["authorization", "*.authorization", "req.headers.authorization", "secret", "*.secret", "token", "*.token", "password", "*.password"], censor: "[redacted]" },
  });
}

/** Starts the roles asked for (api: HTTP + WebSocket; worker: outbox relay + queues) on one database and Redis. */
export async function startSystem(config: Config, roles: Roles, logger = createLogger(config)): Promise<System> {
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
  const events = new EventHub(
    subscriber,
    config.QUEUE_PREFIX,
    {
      [JOB_PROGRESS_TOPIC]: (p) => (typeof p.jobId === "string" ? p.jobId : undefined),
      [ASSIGNMENT_OFFERED_TOPIC]: (p) => (typeof p.nodeId === "string" ? p.nodeId : undefined),
      [BOOK_DELTA_TOPIC]: (p) => (typeof p.market === "string" ? p.market : undefined),
      [TRADE_TOPIC]: (p) => (typeof p.market === "string" ? p.market : undefined),
    },
    logger,
  );
  const chainSide = roles.indexer ? await connectChain(config, logger) : undefined;
  const chainHealth = new ChainHealth();
  let settlementRunner: SettlementRunner | undefined;
  // an API-only process watches the chain node itself (indexerStatus and /readyz say when it is unreachable)
  const monitorProvider =
    !chainSide && config.CHAIN_RPC_URL && roles.api ? createRpcProvider(config.CHAIN_RPC_URL, config.CHAIN_ID, { timeoutMs: config.CHAIN_RPC_TIMEOUT_MS, retries: 0 }) : undefined;
  const services = createServices(db, {
    publicUrl: config.PUBLIC_URL,
    chainId: config.CHAIN_ID,
    jwtSecret: config.JWT_SECRET,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    challengeTtlSeconds: config.CHALLENGE_TTL_SECONDS,
    heartbeatWindowSeconds: config.HEARTBEAT_WINDOW_SECONDS,
    bookCacheMaxAgeMs: 5000,
    matchCandidateLimit: config.MATCH_CANDIDATE_LIMIT,
    usdRates: { standingMicros: config.OGPU_USD_RATE === undefined ? undefined : parseUsd(config.OGPU_USD_RATE), maxAgeSeconds: config.USD_RATE_MAX_AGE_SECONDS },
    relayTreasuryAddress: config.RELAY_TREASURY_ADDRESS ?? chainSide?.devTreasury,
    minProviderStakeWei: parseDecimal(config.MIN_PROVIDER_STAKE) > 0n ? parseDecimal(config.MIN_PROVIDER_STAKE) : null,
    settlementFeeBps: config.FEE_BPS,
    lifecycle: {
      leaseMs: config.LEASE_SECONDS * 1000,
      silenceMs: config.FAILOVER_SILENCE_SECONDS > 0 ? config.FAILOVER_SILENCE_SECONDS * 1000 : undefined,
      maxAttempts: config.MAX_ATTEMPTS,
      checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES,
      transferUrlTtlSeconds: config.TRANSFER_URL_TTL_SECONDS,
    },
  }, {
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
  let indexer: IndexerRunner | undefined;
  if (chainSide) shutdown.add("the chain", chainSide.stop);
  if (monitorProvider) {
    const monitor = startChainMonitor({ head: async () => BigInt(await monitorProvider.getBlockNumber()), health: chainHealth, intervalMs: config.CHAIN_MONITOR_MS, logger });
    shutdown.add("the chain monitor", async () => {
      await monitor.stop();
      monitorProvider.destroy();
    });
  }
  const system: System = {
    config,
    db,
    services,
    logger,
    devChain: chainSide?.dev,
    stop: () => shutdown.run(),
  };
  try {
    if (roles.worker) {
      const relay = new OutboxRelay(dedicatedConnections(config.DATABASE_URL), redis, config.QUEUE_PREFIX, logger);
      await relay.start();
      shutdown.add("the outbox relay", () => relay.stop());
      const maintenance = await startMaintenance({ connection: redis, prefix: config.QUEUE_PREFIX, offers: services.offers, db, logger, sweepMs: config.OFFER_EXPIRY_SWEEP_MS, chargeRelayJobs: () => services.relay.chargeEnded() });
      shutdown.add("maintenance", () => maintenance.stop());
      const matching = await startMatching({
        connection: redis,
        prefix: config.QUEUE_PREFIX,
        db,
        matching: services.matching,
        producer: matchQueue,
        logger,
        concurrency: config.MATCH_CONCURRENCY,
        reconcileMs: config.RECONCILE_MS,
        restingRetryMs: config.RESTING_RETRY_MS,
        lockMs: config.MATCH_LOCK_MS,
        batchSize: config.MATCH_BATCH_SIZE,
        assignments: services.assignments,
        leaseSweepMs: config.LEASE_SWEEP_MS,
      });
      shutdown.add("matching", () => matching.stop());
    }
    if (roles.indexer && chainSide) {
      indexer = await startIndexer({
        connect: dedicatedConnections(config.DATABASE_URL),
        chain: new EthersChain(chainSide.provider, [
          { address: chainSide.escrow, abi: abiOf("Escrow") },
          { address: chainSide.staking, abi: abiOf("Staking") },
        ]),
        store: new PgChainStore(db, chainSide.chainId),
        settings: {
          startBlock: chainSide.startBlock,
          span: 1n,
          maxSpan: BigInt(config.INDEXER_SPAN_BLOCKS),
          confirmations: BigInt(config.CHAIN_CONFIRMATIONS),
          keepBlocks: 64,
        },
        pollMs: config.INDEXER_POLL_MS,
        logger,
        health: chainHealth,
        maxBackoffMs: config.INDEXER_MAX_BACKOFF_MS,
        onProgress: () => settlementRunner?.kick(),
      });
      shutdown.add("the indexer", () => indexer!.stop());
      const settlerKey = config.SETTLER_PRIVATE_KEY ?? chainSide.dev?.accounts[0].privateKey;
      if (settlerKey) {
        const settlement = startSettlement({
          service: new SettlementService(db, {
            chainId: chainSide.chainId,
            escrow: chainSide.escrow,
            batchSize: config.SETTLEMENT_BATCH_SIZE,
            maxAgeMs: config.SETTLEMENT_MAX_AGE_SECONDS * 1000,
            feeBps: config.FEE_BPS,
            dropAfterMs: config.SETTLEMENT_DROP_AFTER_SECONDS * 1000,
            retryBaseMs: config.SETTLEMENT_RETRY_BASE_SECONDS * 1000,
            retryMaxMs: config.SETTLEMENT_RETRY_MAX_SECONDS * 1000,
          }),
          writer: ethersSettlementWriter(chainSide.provider, chainSide.escrow, settlerKey),
          intervalMs: config.SETTLEMENT_INTERVAL_MS,
          logger,
          slashes: () => sendSlashes(db, chainSide.provider, chainSide.staking, config.SLASHER_PRIVATE_KEY ?? settlerKey, logger),
          holds: () => syncHolds(db, chainSide.provider, chainSide.escrow, settlerKey),
          maxBackoffMs: config.SETTLEMENT_MAX_BACKOFF_SECONDS * 1000,
        });
        settlementRunner = settlement;
        shutdown.add("settlement", () => settlement.stop());
      } else logger.warn("no SETTLER_PRIVATE_KEY: completed work is not settled on chain by this process");
    }
    if (roles.api) {
      shutdown.add("book announcements", await followBookAnnouncements(subscriber, config.QUEUE_PREFIX, services.books, logger));
      shutdown.add("the event hub", await events.start());
      const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
      logConnectionErrors(maintenanceQueue, logger, "maintenance queue");
      shutdown.add("the maintenance queue", () => maintenanceQueue.close());
      const queues = [maintenanceQueue, matchQueue.queue];
      const metrics = createMetrics();
      registerSystemGauges(metrics, {
        jobsByStatus: async () => Object.fromEntries((await db.query(`SELECT status, count(*)::int AS n FROM jobs GROUP BY status`)).map((r: { status: string; n: number }) => [r.status, r.n])),
        matchLatency: async () => {
          const [r] = await db.query(
            `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM matched_at - created_at)) AS p50,
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM matched_at - created_at)) AS p99
               FROM jobs WHERE matched_at > now() - interval '5 minutes'`,
          );
          return { p50: r.p50 === null ? null : Number(r.p50), p99: r.p99 === null ? null : Number(r.p99) };
        },
        queueDepths: async () => {
          const out: Record<string, number> = {};
          for (const q of queues) {
            const c = await q.getJobCounts("waiting", "active", "delayed", "prioritized");
            out[q.name] = Object.values(c).reduce((a, b) => a + b, 0);
          }
          return out;
        },
        // by root field, counted where they are served (a shared feed's subscribers share one hub listener)
        subscribers: () => system.app?.subscribers() ?? {},
        indexerLagBlocks: async () => {
          const status = await services.chain.status();
          return status.lagBlocks === null ? undefined : Number(status.lagBlocks);
        },
      });
      const app = await createApp({
        schema: await createSchema(),
        services,
        logger,
        metrics,
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES,
        rateLimiter: config.RATE_LIMIT_PER_MINUTE > 0 ? await rateLimiterOn(config, metrics, logger, shutdown) : undefined,
        limits: {
          maxDepth: config.GRAPHQL_MAX_DEPTH,
          maxCost: config.GRAPHQL_MAX_COST,
          maxAliases: config.GRAPHQL_MAX_ALIASES,
          maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
          maxTokens: config.GRAPHQL_MAX_TOKENS,
          wsMaxPerConnection: config.WS_MAX_OPERATIONS_PER_CONNECTION,
          wsMaxPerPrincipal: config.WS_MAX_OPERATIONS_PER_PRINCIPAL,
          wsMaxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
        },
        queues,
        admin: config.ADMIN_USER && config.ADMIN_PASSWORD ? { user: config.ADMIN_USER, password: config.ADMIN_PASSWORD } : undefined,
        probes: {
          postgres: async () => void (await db.query("SELECT 1")),
          redis: async () => void (await redis.ping()),
          ...(chainProbeFor(chainSide?.provider ?? monitorProvider, chainHealth) ?? {}),
        },
      });
      system.app = app;
      system.port = await app.listen(config.PORT, config.HOST);
      shutdown.add("the HTTP server", () => app.close());
    }
  } catch (err) {
    await system.stop();
    throw err;
  }
  return system;
}
