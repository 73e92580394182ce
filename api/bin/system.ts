import "reflect-metadata";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import type { DataSource } from "typeorm";
import { createApp, type App } from "../app";
import type { Config } from "../config";
import { createDataSource } from "../db/data-source";
import { ensureDatabase } from "../db/ensure-database";
import { createSchema } from "../graphql/schema";
import { createMetrics } from "../http/metrics";
import { followBookAnnouncements } from "../queues/book-announcements";
import { Queue } from "bullmq";
import { MAINTENANCE_QUEUE, startMaintenance } from "../queues/maintenance.queue";
import { OutboxRelay } from "../queues/outbox-relay";
import { MatchQueue, startMatching } from "../queues/matching.queue";
import { EventHub } from "../queues/event-hub";
import { ASSIGNMENT_OFFERED_TOPIC, JOB_PROGRESS_TOPIC } from "../db/repositories/lifecycle.repository";
import { createServices, type Services } from "../services";

export interface Roles {
  api: boolean;
  worker: boolean;
}

export interface System {
  config: Config;
  db: DataSource;
  services: Services;
  logger: Logger;
  app?: App;
  port?: number;
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
  const subscriber = new Redis(config.REDIS_URL, redisOptions);
  const matchQueue = new MatchQueue(redis, config.QUEUE_PREFIX, config.MATCH_BATCH_SIZE);
  const events = new EventHub(
    subscriber,
    config.QUEUE_PREFIX,
    {
      [JOB_PROGRESS_TOPIC]: (p) => (typeof p.jobId === "string" ? p.jobId : undefined),
      [ASSIGNMENT_OFFERED_TOPIC]: (p) => (typeof p.nodeId === "string" ? p.nodeId : undefined),
    },
    logger,
  );
  const services = createServices(db, {
    publicUrl: config.PUBLIC_URL,
    chainId: config.CHAIN_ID,
    jwtSecret: config.JWT_SECRET,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    challengeTtlSeconds: config.CHALLENGE_TTL_SECONDS,
    heartbeatWindowSeconds: config.HEARTBEAT_WINDOW_SECONDS,
    bookCacheMaxAgeMs: 5000,
    matchCandidateLimit: config.MATCH_CANDIDATE_LIMIT,
    lifecycle: {
      leaseMs: config.LEASE_SECONDS * 1000,
      maxAttempts: config.MAX_ATTEMPTS,
      checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES,
      transferUrlTtlSeconds: config.TRANSFER_URL_TTL_SECONDS,
    },
  }, {
    matchRequests: matchQueue,
    onError: (err, what) => logger.warn({ err }, `${what} failed; the reconciler catches up`),
    events,
    chain: { chainId: config.CHAIN_ID, contracts: [], head: () => undefined },
  });
  const stops: (() => Promise<void>)[] = [];
  const system: System = {
    config,
    db,
    services,
    logger,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((err) => logger.warn({ err }, "error while stopping"));
      await matchQueue.close().catch(() => undefined);
      subscriber.disconnect();
      await redis.quit().catch(() => redis.disconnect());
      await db.destroy();
    },
  };
  try {
    if (roles.worker) {
      const relay = new OutboxRelay(config.DATABASE_URL, redis, config.QUEUE_PREFIX, logger);
      await relay.start();
      stops.push(() => relay.stop());
      const maintenance = await startMaintenance({ connection: redis, prefix: config.QUEUE_PREFIX, offers: services.offers, db, logger, sweepMs: config.OFFER_EXPIRY_SWEEP_MS });
      stops.push(() => maintenance.stop());
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
      stops.push(() => matching.stop());
    }
    if (roles.api) {
      stops.push(await followBookAnnouncements(subscriber, config.QUEUE_PREFIX, services.books, logger));
      stops.push(await events.start());
      const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
      stops.push(() => maintenanceQueue.close());
      const queues = [maintenanceQueue, matchQueue.queue];
      const app = await createApp({
        schema: await createSchema(),
        services,
        logger,
        metrics: createMetrics(),
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        checkpointMaxBytes: config.CHECKPOINT_MAX_BYTES,
        limits: {
          maxDepth: config.GRAPHQL_MAX_DEPTH,
          maxCost: config.GRAPHQL_MAX_COST,
          maxAliases: config.GRAPHQL_MAX_ALIASES,
          maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
          maxTokens: config.GRAPHQL_MAX_TOKENS,
        },
        queues,
        admin: config.ADMIN_USER && config.ADMIN_PASSWORD ? { user: config.ADMIN_USER, password: config.ADMIN_PASSWORD } : undefined,
        probes: {
          postgres: async () => void (await db.query("SELECT 1")),
          redis: async () => void (await redis.ping()),
        },
      });
      system.app = app;
      system.port = await app.listen(config.PORT, config.HOST);
      stops.push(() => app.close());
    }
  } catch (err) {
    await system.stop();
    throw err;
  }
  return system;
}
