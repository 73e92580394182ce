import { Redis } from "ioredis";
import { createApp, type App } from "../app";
import { jobsByStatus, matchLatency } from "../db/repositories/metrics.repository";
import { introspectionServed } from "../graphql/limits";
import { listBounds } from "../graphql/list-bounds";
import { createSchema } from "../graphql/schema";
import { createMetrics, registerSystemGauges, type Metrics } from "../http/metrics";
import { followBookAnnouncements } from "../pubsub/book-announcements";
import { redisRateLimiter } from "../http/rate-limiter";
import { within } from "../queues/within";
import { chainProbeFor } from "./chain-side";
import type { Infrastructure } from "./infrastructure";

/** The api role: GraphQL over HTTP and WebSocket, the relay, checkpoints, health, metrics and bull-board, listening on PORT. */
export async function startApiRole(infra: Infrastructure): Promise<{ app: App; port: number }> {
  const { config, logger, db, redis, subscriber, matchQueue, maintenanceQueue, events, services, shutdown, chainHealth } = infra;
  shutdown.add("book announcements", await followBookAnnouncements(subscriber, config.QUEUE_PREFIX, services.books, logger));
  shutdown.add("the event hub", await events.start());
  const queues = [maintenanceQueue, matchQueue.queue];
  const metrics = createMetrics();
  const served: { app?: App } = {};
  registerSystemGauges(metrics, {
    jobsByStatus: () => jobsByStatus(db),
    matchLatency: () => matchLatency(db),
    queueDepths: async () => {
      const out: Record<string, number> = {};
      for (const q of queues) {
        const c = await q.getJobCounts("waiting", "active", "delayed", "prioritized");
        out[q.name] = Object.values(c).reduce((a, b) => a + b, 0);
      }
      return out;
    },
    // by root field, counted where they are served (a shared feed's subscribers share one hub listener)
    subscribers: () => served.app?.subscribers() ?? {},
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
    rateLimiter: config.RATE_LIMIT_PER_MINUTE > 0 ? await rateLimiterOn(infra, metrics) : undefined,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    limits: {
      introspection: introspectionServed(config.NODE_ENV),
      listBounds: listBounds({ jobMaxInputs: config.JOB_MAX_INPUTS, outputMaxFiles: config.OUTPUT_MAX_FILES }),
      maxDepth: config.GRAPHQL_MAX_DEPTH,
      maxCost: config.GRAPHQL_MAX_COST,
      maxAliases: config.GRAPHQL_MAX_ALIASES,
      maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: config.GRAPHQL_MAX_TOKENS,
      wsMaxPerConnection: config.WS_MAX_OPERATIONS_PER_CONNECTION,
      wsMaxPerPrincipal: config.WS_MAX_OPERATIONS_PER_PRINCIPAL,
      wsMaxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
      wsMaxConnectionsPerAddress: config.WS_MAX_CONNECTIONS_PER_ADDRESS,
      wsIdleTimeoutMs: config.WS_IDLE_TIMEOUT_SECONDS * 1000,
    },
    queues,
    web: { dir: config.WEB_DIST_DIR, graphiql: config.NODE_ENV !== "production" },
    admin: config.ADMIN_USER && config.ADMIN_PASSWORD ? { user: config.ADMIN_USER, password: config.ADMIN_PASSWORD } : undefined,
    probes: {
      postgres: async () => void (await db.query("SELECT 1")),
      redis: async () => void (await redis.ping()),
      ...(chainProbeFor(infra.chainSide?.provider ?? infra.monitorProvider, chainHealth) ?? {}),
    },
  });
  served.app = app;
  const port = await app.listen(config.PORT, config.HOST);
  shutdown.add("the HTTP server", () => app.close());
  return { app, port };
}

/**
 * The shared rate limiter on a Redis connection of its own that fails fast (no offline queue, a command timeout), so
 * a request never waits on a Redis that is down: the limiter counts per process meanwhile, with a log line and a metric.
 */
async function rateLimiterOn({ config, logger, shutdown, clock }: Infrastructure, metrics: Metrics) {
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
  }, () => clock.now().getTime());
}

