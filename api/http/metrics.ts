import type { ApolloServerPlugin } from "@apollo/server";
import type { RequestHandler } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { within } from "../queues/within";

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<"method" | "route" | "status">;
  graphqlDuration: Histogram<"operation" | "type" | "outcome">;
  graphqlErrors: Counter<"code">;
  /** 1 while the rate limiter counts in this process only (Redis not answering). */
  rateLimiterDegraded: Gauge;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A registry per app (tests run several in one process), with default process metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({ name: "http_request_duration_seconds", help: "HTTP requests by route", labelNames: ["method", "route", "status"], buckets: BUCKETS, registers: [registry] }),
    graphqlDuration: new Histogram({ name: "graphql_operation_duration_seconds", help: "GraphQL operations, parse to response", labelNames: ["operation", "type", "outcome"], buckets: BUCKETS, registers: [registry] }),
    graphqlErrors: new Counter({ name: "graphql_errors_total", help: "GraphQL errors sent, by code", labelNames: ["code"], registers: [registry] }),
    rateLimiterDegraded: new Gauge({ name: "gx_rate_limiter_degraded", help: "1 while Redis does not answer and rate limits are counted per process", registers: [registry] }),
  };
}

/** Times every HTTP request; the route label is the matched path, or "other" (no unbounded labels). */
export function httpTiming(metrics: Metrics, knownPaths: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on("finish", () => end({ route: knownPaths.has(req.path) ? req.path : "other", status: String(res.statusCode) }));
    next();
  };
}

/** Times GraphQL operations by name (bounded to 64 chars) and counts errors by code. */
export function graphqlTiming<T extends object>(metrics: Metrics): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const end = metrics.graphqlDuration.startTimer();
      return {
        async willSendResponse(rc) {
          const errors = rc.response.body.kind === "single" ? (rc.response.body.singleResult.errors ?? []) : [];
          for (const e of errors) metrics.graphqlErrors.inc({ code: String(e.extensions?.code ?? "UNKNOWN") });
          end({ operation: (rc.operationName ?? "anonymous").slice(0, 64), type: rc.operation?.operation ?? "unknown", outcome: errors.length ? "error" : "ok" });
        },
      };
    },
  };
}

export interface SystemGauges {
  /** Jobs by status (from Postgres). */
  jobsByStatus(): Promise<Record<string, number>>;
  /** Submit-to-match latency quantiles in seconds over recent matches (from Postgres). */
  matchLatency(): Promise<{ p50: number | null; p99: number | null }>;
  /** Waiting + active tasks per queue. */
  queueDepths(): Promise<Record<string, number>>;
  /** Live subscribers per feed topic on this instance. */
  subscribers(): Record<string, number>;
  /** Blocks the indexer is behind the chain's head (undefined without a chain). */
  indexerLagBlocks(): Promise<number | undefined>;
}

/** A gauge's reading, or undefined when its source fails or does not answer within a second (a scrape never hangs on a dependency). */
function reading<T>(read: () => Promise<T>): Promise<T | undefined> {
  return within(read(), 1000, "a gauge's reading").catch(() => undefined);
}

/** Gauges read at scrape time: jobs by status, match latency, queue depths, feed subscribers, indexer lag. */
export function registerSystemGauges(metrics: Metrics, g: SystemGauges): void {
  const registers = [metrics.registry];
  new Gauge({
    name: "gx_jobs",
    help: "Jobs by status",
    labelNames: ["status"],
    registers,
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries((await reading(g.jobsByStatus)) ?? {})) this.set({ status }, n);
    },
  });
  new Gauge({
    name: "gx_match_latency_seconds",
    help: "Submit to match over the last 5 minutes, by quantile",
    labelNames: ["quantile"],
    registers,
    async collect() {
      this.reset();
      const q = await reading(g.matchLatency);
      if (q?.p50 != null) this.set({ quantile: "0.5" }, q.p50);
      if (q?.p99 != null) this.set({ quantile: "0.99" }, q.p99);
    },
  });
  new Gauge({
    name: "gx_queue_depth",
    help: "Waiting and active tasks per queue",
    labelNames: ["queue"],
    registers,
    async collect() {
      this.reset();
      for (const [queue, n] of Object.entries((await reading(g.queueDepths)) ?? {})) this.set({ queue }, n);
    },
  });
  new Gauge({
    name: "gx_feed_subscribers",
    help: "Live WebSocket subscriptions (and other operations) on this instance by root field",
    labelNames: ["feed"],
    registers,
    collect() {
      this.reset();
      for (const [feed, n] of Object.entries(g.subscribers())) this.set({ feed }, n);
    },
  });
  new Gauge({
    name: "gx_indexer_lag_blocks",
    help: "Blocks the indexer is behind the chain head",
    registers,
    async collect() {
      const lag = await reading(g.indexerLagBlocks);
      if (lag !== undefined) this.set(lag);
    },
  });
}
