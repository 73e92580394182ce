import { execute, getOperationAST, GraphQLError, parse, specifiedRules, subscribe, validate, type ExecutionResult, type GraphQLSchema, type ValidationRule } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { WebSocketServer } from "ws";
import type { Principal, Services } from "../services";
import { createContext } from "./context";
import { formatError } from "./errors";

export interface WebSocketDeps {
  schema: GraphQLSchema;
  services: Services;
  rules: ValidationRule[];
  maxTokens: number;
  logError: (error: unknown) => void;
  authenticate: (authorization: string | undefined) => Promise<Principal | undefined>;
  /** Operations (subscriptions included) one connection, and one principal (or anonymous address) over all its connections, may run at once. */
  maxPerConnection: number;
  maxPerPrincipal: number;
}

type ConnectionExtra = Record<string, unknown> & {
  principal?: Principal;
  socket?: { close(code: number, reason: string): void };
  request?: { socket?: { remoteAddress?: string } };
  active?: Set<string>;
  expiry?: NodeJS.Timeout;
};

const principalKey = (extra: ConnectionExtra) => extra.principal?.accountId ?? `anonymous:${extra.request?.socket?.remoteAddress ?? "?"}`;

/**
 * graphql-ws on the shared HTTP server: `connectionParams.authorization` carries the same credential as
 * HTTP (a bad one closes with 4403), and every operation passes the same parser token limit and
 * validation rules (depth, cost, aliases, directives) as HTTP.
 */
export function attachWebSocket(wss: WebSocketServer, deps: WebSocketDeps): { dispose(): Promise<void> } {
  const perPrincipal = new Map<string, number>();
  const limited = (message: string) => [new GraphQLError(message, { extensions: { code: "RATE_LIMITED" } })];
  const format = formatError(deps.logError);
  const formatOne = (e: GraphQLError): GraphQLError => {
    if (e.path === undefined && (e.originalError === undefined || e.originalError instanceof GraphQLError)) {
      return new GraphQLError(e.message, { extensions: { code: "BAD_USER_INPUT" } });
    }
    const formatted = format(e.toJSON(), e);
    return new GraphQLError(formatted.message, { path: e.path, extensions: formatted.extensions });
  };
  const formatResult = (result: ExecutionResult): ExecutionResult => (result.errors ? { ...result, errors: result.errors.map(formatOne) } : result);
  return useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema: deps.schema,
      execute,
      subscribe,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        if (authorization !== undefined && typeof authorization !== "string") return false;
        try {
          ctx.extra.principal = await deps.authenticate(authorization);
        } catch {
          return false;
        }
        ctx.extra.active = new Set();
        const expiresAt = ctx.extra.principal?.expiresAt;
        if (expiresAt) {
          // a session ends with its token: the connection closes as a bad credential would
          ctx.extra.expiry = setTimeout(() => ctx.extra.socket?.close(4403, "Forbidden: the session expired; sign in again"), Math.max(0, expiresAt.getTime() - Date.now()));
          ctx.extra.expiry.unref();
        }
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.expiry) clearTimeout(ctx.extra.expiry);
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.active?.delete(id)) {
          const key = principalKey(ctx.extra);
          const n = (perPrincipal.get(key) ?? 1) - 1;
          if (n <= 0) perPrincipal.delete(key);
          else perPrincipal.set(key, n);
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const active = (ctx.extra.active ??= new Set());
        const key = principalKey(ctx.extra);
        if (active.size >= deps.maxPerConnection) return limited(`at most ${deps.maxPerConnection} operations at once on one connection; complete some first`);
        if ((perPrincipal.get(key) ?? 0) >= deps.maxPerPrincipal) return limited(`at most ${deps.maxPerPrincipal} operations at once per account over all connections`);
        let document;
        try {
          document = parse(payload.query, { maxTokens: deps.maxTokens });
        } catch (e) {
          return [e instanceof GraphQLError ? new GraphQLError(e.message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } }) : new GraphQLError("Syntax Error", { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
        }
        const errors = validate(deps.schema, document, [...specifiedRules, ...deps.rules]);
        if (errors.length > 0) return errors.map((e) => new GraphQLError(e.message, { extensions: { code: e.extensions?.code ?? "GRAPHQL_VALIDATION_FAILED" } }));
        if (!getOperationAST(document, payload.operationName)) return [new GraphQLError("name the operation to run", { extensions: { code: "BAD_REQUEST" } })];
        active.add(id);
        perPrincipal.set(key, (perPrincipal.get(key) ?? 0) + 1);
        return {
          schema: deps.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(deps.services, ctx.extra.principal),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result as ExecutionResult),
    },
    wss,
  ) as unknown as { dispose(): Promise<void> };
}
