import { execute, getArgumentValues, getOperationAST, getVariableValues, GraphQLError, Kind, parse, specifiedRules, subscribe, validate, type DocumentNode, type ExecutionArgs, type FieldNode, type OperationDefinitionNode, type ExecutionResult, type GraphQLSchema, type ValidationRule } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { IncomingMessage } from "node:http";
import type { WebSocket, WebSocketServer } from "ws";
import type { Principal, Services } from "../services";
import { createContext } from "./context";
import { BoundedMap } from "./bounded-map";
import { at } from "./timer-at";
import { formatError } from "./errors";
import { FeedFanout, type FeedSocket } from "./feed-fanout";
import { costRefusal, withoutSuggestions, type QueryLimits } from "./limits";

export interface WebSocketDeps {
  schema: GraphQLSchema;
  services: Services;
  rules: ValidationRule[];
  /** The cost limit HTTP applies, and the connection limits of WebSocket. */
  limits: Pick<QueryLimits, "maxCost" | "listBounds" | "wsMaxConnectionsPerAddress" | "wsIdleTimeoutMs">;
  /** The client address of an upgrade request: the rule HTTP rate limits use (http/client-address.ts). */
  addressOf: (request: IncomingMessage) => string | undefined;
  maxTokens: number;
  logError: (error: unknown) => void;
  authenticate: (authorization: string | undefined) => Promise<Principal | undefined>;
  /** Operations (subscriptions included) one connection, and one principal (or anonymous address) over all its connections, may run at once. */
  maxPerConnection: number;
  maxPerPrincipal: number;
  /**
   * Subscription fields served by one execution per distinct operation (FeedFanout): their events must not depend on
   * the caller. The value is called, with the field's arguments, when a subscriber joins a running one (a state
   * feed's way to give it a fresh state); null for event feeds.
   */
  sharedFeeds: Record<string, ((args: Record<string, unknown>) => void) | null>;
  /** Bytes a socket may have waiting before a shared feed closes it as a slow consumer. */
  maxBufferedBytes: number;
  /** The requests-per-minute limiter HTTP uses, counting each operation against the same allowance (the account, else the address). */
  limit?: (principal: Principal | undefined, address: string | undefined) => Promise<{ allowed: boolean; retryAfterSeconds: number }>;
  /** How often a connection made with an API key checks that the key still stands (it also checks on every new operation). */
  apiKeyRecheckMs?: number;
}

export interface WebSocketHandle {
  dispose(): Promise<void>;
  /** Live operations on this instance by root field (subscriptions: by feed). */
  subscribers(): Record<string, number>;
}

type ConnectionExtra = Record<string, unknown> & {
  principal?: Principal;
  /** The credential the connection was made with, to check again. */
  authorization?: string;
  closed?: boolean;
  recheck?: NodeJS.Timeout;
  socket?: FeedSocket;
  request?: IncomingMessage;
  /** Live operation ids on this connection, with their root field. */
  active?: Map<string, string>;
  expiry?: { cancel(): void };
};

const DOCUMENT_CACHE_SIZE = 1000;

/** A subscription root field's argument values, or undefined when the variables do not fit (the normal path reports it). */
function argumentsOf(schema: GraphQLSchema, operation: OperationDefinitionNode, node: FieldNode, variables: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  const def = schema.getSubscriptionType()?.getFields()[node.name.value];
  if (!def) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return undefined;
  try {
    return getArgumentValues(def, node, coerced.coerced);
  } catch {
    return undefined;
  }
}

/** Close codes of the connection limits (graphql-ws's own: 4429 too many, 4408 a timeout). */
export const TOO_MANY_CONNECTIONS = 4429;
export const IDLE_TIMEOUT = 4408;

/**
 * graphql-ws on the shared HTTP server: `connectionParams.authorization` carries the same credential as
 * HTTP (a bad one closes with 4403), and every operation passes the same parser token limit, validation rules
 * (depth, aliases, directives, introspection where it is off), suggestion-free messages and cost limit as HTTP. At
 * most `wsMaxConnectionsPerAddress` connections per client address (more close with 4429 at once), and one that
 * starts no operation within `wsIdleTimeoutMs` closes with 4408.
 */
export function attachWebSocket(wss: WebSocketServer, deps: WebSocketDeps): WebSocketHandle {
  const addressOfExtra = (extra: ConnectionExtra) => (extra.request ? deps.addressOf(extra.request) : undefined);
  const principalKey = (extra: ConnectionExtra) => extra.principal?.accountId ?? `anonymous:${addressOfExtra(extra) ?? "?"}`;
  const perAddress = new Map<string, number>();
  const idle = new WeakMap<object, NodeJS.Timeout>();
  const idleSeconds = Math.round(deps.limits.wsIdleTimeoutMs / 1000);
  // registered before graphql-ws's own listener, so a refused connection is closed before it is served
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const address = deps.addressOf(request) ?? "?";
    const open = perAddress.get(address) ?? 0;
    if (open >= deps.limits.wsMaxConnectionsPerAddress) {
      socket.close(TOO_MANY_CONNECTIONS, `Too many connections: at most ${deps.limits.wsMaxConnectionsPerAddress} from one address`);
      return;
    }
    perAddress.set(address, open + 1);
    const timer = setTimeout(() => socket.close(IDLE_TIMEOUT, `Idle: no operation started within ${idleSeconds} s`), deps.limits.wsIdleTimeoutMs);
    timer.unref();
    idle.set(socket, timer);
    socket.once("close", () => {
      clearTimeout(timer);
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
  });
  const perPrincipal = new Map<string, number>();
  const byField = new Map<string, number>();
  const shareable = new Map(Object.entries(deps.sharedFeeds));
  /** Valid documents by query text, parsed and validated once: many subscribers send the same few operations. */
  const documents = new BoundedMap<string, DocumentNode>(DOCUMENT_CACHE_SIZE);
  type Share = { key: string; id: string; socket: FeedSocket; joined?: () => void };
  /** Operations that join a shared feed, by the context object onSubscribe made for them. */
  const sharing = new WeakMap<object, Share>();
  /**
   * How a subscription joins a shared feed: one root field that is one, on a WebSocket; undefined to run it alone
   * (also when a state feed's variables do not fit: the normal path reports them).
   */
  const shareOf = (operation: OperationDefinitionNode, id: string, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }, socket: FeedSocket | undefined): Share | undefined => {
    const [root, ...more] = operation.selectionSet.selections;
    if (operation.operation !== "subscription" || !socket || more.length > 0 || root?.kind !== Kind.FIELD) return undefined;
    const onJoin = shareable.get(root.name.value);
    if (onJoin === undefined) return undefined;
    const key = `${payload.operationName ?? ""}\u0000${JSON.stringify(payload.variables ?? {})}\u0000${payload.query}`;
    if (onJoin === null) return { key, id, socket };
    const fieldArgs = argumentsOf(deps.schema, operation, root, payload.variables);
    return fieldArgs ? { key, id, socket, joined: () => onJoin(fieldArgs) } : undefined;
  };
  const count = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };
  /** An operation of a connection is over: counted out once, however it ended. */
  const release = (extra: ConnectionExtra, id: string) => {
    const field = extra.active?.get(id);
    if (field === undefined) return;
    extra.active!.delete(id);
    count(perPrincipal, principalKey(extra), -1);
    count(byField, field, -1);
  };
  /** Whether the API key a connection was made with still stands; a revoked one closes the connection (4403). */
  const keyStands = async (extra: ConnectionExtra): Promise<boolean> => {
    const now = await deps.authenticate(extra.authorization).catch(() => undefined);
    if (now && now.accountId === extra.principal?.accountId) return true;
    extra.socket?.close(4403, "Forbidden: the API key was revoked");
    return false;
  };
  const limited = (message: string) => [new GraphQLError(message, { extensions: { code: "RATE_LIMITED" } })];
  const format = formatError(deps.logError);
  const formatOne = (e: GraphQLError): GraphQLError => {
    if (e.path === undefined && (e.originalError === undefined || e.originalError instanceof GraphQLError)) {
      // a request error (variables, arguments): its own code when it has one, else the client's input
      const code = typeof e.extensions?.code === "string" ? e.extensions.code : "BAD_USER_INPUT";
      return new GraphQLError(e.message, { extensions: { code } });
    }
    const formatted = format(e.toJSON(), e);
    return new GraphQLError(formatted.message, { path: e.path, extensions: formatted.extensions });
  };
  const formatResult = (result: ExecutionResult): ExecutionResult => (result.errors ? { ...result, errors: result.errors.map(formatOne) } : result);
  const fanout = new FeedFanout(deps.maxBufferedBytes, formatResult, deps.logError);
  const server = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema: deps.schema,
      execute,
      subscribe: (args: ExecutionArgs) => {
        const share = sharing.get(args.contextValue as object);
        if (!share) return subscribe(args);
        // the group runs as nobody: shared feeds do not depend on the caller
        return fanout.join(share.key, async () => subscribe({ ...args, contextValue: createContext(deps.services, undefined) }), share.id, share.socket, share.joined);
      },
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        if (authorization !== undefined && typeof authorization !== "string") return false;
        try {
          ctx.extra.principal = await deps.authenticate(authorization);
        } catch {
          return false;
        }
        ctx.extra.authorization = authorization;
        ctx.extra.active = new Map();
        const expiresAt = ctx.extra.principal?.expiresAt;
        // a session ends with its token: the connection closes as a bad credential would
        if (expiresAt) ctx.extra.expiry = at(expiresAt, () => ctx.extra.socket?.close(4403, "Forbidden: the session expired; sign in again"));
        if (ctx.extra.principal?.via === "apiKey") {
          // a revoked key ends its connections too (within this interval, and at once on any new operation)
          ctx.extra.recheck = setInterval(() => void keyStands(ctx.extra), deps.apiKeyRecheckMs ?? 30_000);
          ctx.extra.recheck.unref();
        }
        return true;
      },
      onClose: (ctx) => {
        ctx.extra.closed = true;
        ctx.extra.expiry?.cancel();
        if (ctx.extra.recheck) clearInterval(ctx.extra.recheck);
        // operations that never completed (one whose execution failed closes the connection) are counted out here
        for (const id of [...(ctx.extra.active?.keys() ?? [])]) release(ctx.extra, id);
      },
      onComplete: (ctx, id) => release(ctx.extra, id),
      onSubscribe: async (ctx, id, payload) => {
        const timer = ctx.extra.socket && idle.get(ctx.extra.socket);
        if (timer) clearTimeout(timer);
        if (ctx.extra.principal?.via === "apiKey" && !(await keyStands(ctx.extra))) return [new GraphQLError("the API key is unknown or revoked", { extensions: { code: "UNAUTHENTICATED" } })];
        if (deps.limit) {
          const decision = await deps.limit(ctx.extra.principal, addressOfExtra(ctx.extra));
          if (!decision.allowed) return limited(`too many requests; try again in ${decision.retryAfterSeconds} s`);
        }
        if (ctx.extra.closed) return [new GraphQLError("the connection closed", { extensions: { code: "BAD_REQUEST" } })];
        // from here to counting the operation in, nothing awaits: the limits hold however many arrive at once
        const active = (ctx.extra.active ??= new Map());
        const key = principalKey(ctx.extra);
        if (active.size >= deps.maxPerConnection) return limited(`at most ${deps.maxPerConnection} operations at once on one connection; complete some first`);
        if ((perPrincipal.get(key) ?? 0) >= deps.maxPerPrincipal) return limited(`at most ${deps.maxPerPrincipal} operations at once per account over all connections`);
        let document = documents.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query, { maxTokens: deps.maxTokens });
          } catch (e) {
            return [e instanceof GraphQLError ? new GraphQLError(e.message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } }) : new GraphQLError("Syntax Error", { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
          }
          let errors: readonly GraphQLError[];
          try {
            errors = validate(deps.schema, document, [...specifiedRules, ...deps.rules]);
          } catch (e) {
            // graphql-js's own rules throw on some documents (a subscription's root field under a variable directive)
            return [new GraphQLError(e instanceof Error ? e.message : "invalid document", { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })];
          }
          if (errors.length > 0) return errors.map((e) => new GraphQLError(withoutSuggestions(e.message), { extensions: { code: e.extensions?.code ?? "GRAPHQL_VALIDATION_FAILED" } }));
          documents.set(payload.query, document);
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError("name the operation to run", { extensions: { code: "BAD_REQUEST" } })];
        const tooCostly = costRefusal(deps.schema, document, payload.operationName, payload.variables, deps.limits);
        if (tooCostly) return [new GraphQLError(tooCostly.message, { extensions: { code: tooCostly.extensions.code } })];
        if (operation.operation === "subscription" && operation.selectionSet.selections.some((s) => (s.directives?.length ?? 0) > 0)) {
          // graphql-js cannot run a subscription whose one root field is skipped
          return [new GraphQLError("a subscription's root field takes no @skip or @include: subscribe to it or not", { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })];
        }
        const [root] = operation.selectionSet.selections;
        const field = root?.kind === Kind.FIELD ? root.name.value : operation.operation;
        active.set(id, field);
        count(perPrincipal, key, 1);
        count(byField, field, 1);
        const args = { schema: deps.schema, document, operationName: payload.operationName, variableValues: payload.variables };
        const share = shareOf(operation, id, payload, ctx.extra.socket);
        if (share) {
          const contextValue = {};
          sharing.set(contextValue, share);
          return { ...args, contextValue };
        }
        return { ...args, contextValue: createContext(deps.services, ctx.extra.principal) };
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result as ExecutionResult),
    },
    wss,
  ) as unknown as { dispose(): Promise<void> };
  return { dispose: () => server.dispose(), subscribers: () => Object.fromEntries(byField) };
}
