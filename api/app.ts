import { createServer, type IncomingMessage, type Server } from "node:http";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled, ApolloServerPluginUsageReportingDisabled } from "@apollo/server/plugin/disabled";
import type { Queue } from "bullmq";
import express from "express";
import { GraphQLError, type GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { createContext, type GraphQLContext } from "./graphql/context";
import { errorExtensions, formatError, INTERNAL_ERROR_MESSAGE } from "./graphql/errors";
import { bodyErrorMessage, clientErrorReply } from "./http/error-status";
import { limitRules, queryLimitsPlugin, type QueryLimits } from "./graphql/limits";
import { responseCache } from "./graphql/response-cache";
import { attachWebSocket } from "./graphql/websocket";
import { SHARED_FEEDS } from "./graphql/resolvers/market.resolver";
import { adminRoutes } from "./http/admin";
import { transferRoutes } from "./http/transfers";
import { relayRoutes } from "./relay/relay.routes";
import { settlementAdminRoutes, usdAdminRoutes } from "./http/admin";
import { healthRoutes, type Probe } from "./http/health";
import { graphiqlRoute, webAppRoutes } from "./http/web-app";
import { clientAddress } from "./http/client-address";
import { principalOf, rateLimit, rateLimitKey, type RateLimiterPort } from "./http/rate-limit";
import { graphqlTiming, httpTiming, type Metrics } from "./http/metrics";
import type { Principal, Services } from "./services";
import { classifyError } from "./services/errors";

export interface AppDeps {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  metrics: Metrics;
  limits: QueryLimits;
  bodyLimitBytes: number;
  probes: Record<string, Probe>;
  /** Queues bull-board lists at /admin/queues. */
  queues: Queue[];
  admin?: { user: string; password: string };
  /** Requests per principal (shared by instances); absent: no limit. */
  rateLimiter?: RateLimiterPort;
  /** Proxies in front of the API whose X-Forwarded-For is trusted (0: the peer is the client); see clientAddress. */
  trustProxyHops?: number;
  /** The built web app (served at /) and whether GraphiQL answers browsers at GET /graphql (not in production). */
  web?: { dir: string; graphiql: boolean };
}

export interface App {
  server: Server;
  /** Live WebSocket operations on this instance by root field (subscriptions: by feed). */
  subscribers(): Record<string, number>;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/** Builds the HTTP server: GraphQL over HTTP and WebSocket on /graphql, health, readiness and metrics. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { services, logger, metrics } = deps;
  const app = express();
  app.disable("x-powered-by");
  const hops = deps.trustProxyHops ?? 0;
  // req.ip follows the same rule as clientAddress, which rate limits and WebSocket limits use
  app.set("trust proxy", hops);
  const addressOf = (req: IncomingMessage) => clientAddress(req, hops);
  const server = createServer(app);
  const rules = limitRules(deps.limits);
  const logError = (error: unknown) => logger.error({ err: error }, "unexpected error in a GraphQL operation");
  // no per-message compression: shared feeds write whole frames to the socket (graphql/feed-fanout.ts)
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: deps.bodyLimitBytes, perMessageDeflate: false });
  const ws = attachWebSocket(wss, {
    schema: deps.schema,
    services,
    rules,
    limits: deps.limits,
    addressOf,
    maxTokens: deps.limits.maxTokens,
    logError,
    authenticate,
    maxPerConnection: deps.limits.wsMaxPerConnection,
    maxPerPrincipal: deps.limits.wsMaxPerPrincipal,
    sharedFeeds: Object.fromEntries(Object.entries(SHARED_FEEDS).map(([field, joined]) => [field, joined && ((args: Record<string, unknown>) => joined(services, args))])),
    maxBufferedBytes: deps.limits.wsMaxBufferedBytes,
    limit: deps.rateLimiter ? (principal, address) => deps.rateLimiter!.hit(rateLimitKey(principal, address)) : undefined,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    validationRules: rules,
    parseOptions: { maxTokens: deps.limits.maxTokens },
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // introspection and suggestions are refused by the shared rules (graphql/limits.ts), as on WebSocket
    introspection: true,
    hideSchemaDetailsFromClientErrors: false,
    formatError: formatError(logError),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      queryLimitsPlugin(deps.schema, deps.limits),
      graphqlTiming(metrics),
      responseCache(),
      { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
    ],
  });
  await apollo.start();

  app.use(httpTiming(metrics, new Set(["/graphql", "/healthz", "/readyz", "/metrics", "/transfers"])));
  app.use(healthRoutes(deps.probes, new Set(["chain"])));
  app.use(adminRoutes(deps.queues, deps.admin));
  app.use(transferRoutes(services.transfers, logger));
  app.use(relayRoutes(services, deps.bodyLimitBytes, logger, deps.rateLimiter, addressOf));
  app.use(usdAdminRoutes(services.relay, deps.admin));
  app.use(settlementAdminRoutes(services.settlements, deps.admin));
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  if (deps.web) app.use(graphiqlRoute(deps.web.dir, deps.web.graphiql));
  app.use(
    "/graphql",
    ...(deps.rateLimiter ? [rateLimit(deps.rateLimiter, "graphql", (header) => services.auth.authenticate(header), addressOf)] : []),
    express.json({ limit: deps.bodyLimitBytes }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => createContext(services, await principalOf(res, req.headers.authorization, authenticate)),
    }),
  );
  if (deps.web) app.use(webAppRoutes(deps.web.dir, deps.web.graphiql));
  app.use((err: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const graphqlShaped = (status: number, code: string, message: string) => res.status(status).json({ errors: [{ message, extensions: { code } }] });
    if (err.status && err.status < 500) return graphqlShaped(err.status, "BAD_USER_INPUT", bodyErrorMessage(err, deps.bodyLimitBytes));
    const reply = clientErrorReply(err);
    if (reply) {
      res.set(reply.headers);
      return graphqlShaped(reply.status, reply.body.error.code, reply.body.error.message);
    }
    logger.error({ err }, "unexpected HTTP error");
    return graphqlShaped(500, "INTERNAL_SERVER_ERROR", INTERNAL_ERROR_MESSAGE);
  });

  /** A bearer credential to a principal; a bad one is refused with 401 UNAUTHENTICATED. */
  async function authenticate(header: string | undefined): Promise<Principal | undefined> {
    try {
      return await services.auth.authenticate(header);
    } catch (e) {
      const classified = classifyError(e);
      if (!classified) throw e;
      const status = classified.code === "UNAVAILABLE" ? 503 : 401;
      throw new GraphQLError(classified.message, { extensions: { ...errorExtensions(classified), http: { status } } });
    }
  }

  return {
    server,
    subscribers: () => ws.subscribers(),
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve(typeof address === "object" && address ? address.port : port);
        });
      }),
    close: async () => {
      await apollo.stop();
    },
  };
}
