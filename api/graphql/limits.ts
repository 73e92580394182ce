import type { ApolloServerPlugin } from "@apollo/server";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import type { GraphQLArmorCallbackConfiguration } from "@escape.tech/graphql-armor-types";
import { GraphQLError, NoSchemaIntrospectionCustomRule, type DocumentNode, type GraphQLSchema, type ValidationRule } from "graphql";
import { queryCost, type ListBounds } from "./query-cost";

export interface QueryLimits {
  maxDepth: number;
  /** The most a query may cost: the values its response can hold, lists counted at their bounds (query-cost.ts). */
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  /** Whether `__schema` and `__type` are served ({@link introspectionServed}). */
  introspection: boolean;
  /** The bound of every list field (list-bounds.ts). */
  listBounds: ListBounds;
  /** WebSocket: operations at once per connection, and per principal over its connections (this instance). */
  wsMaxPerConnection: number;
  wsMaxPerPrincipal: number;
  /** WebSocket: bytes a connection may have waiting before a shared feed closes it as a slow consumer. */
  wsMaxBufferedBytes: number;
  /** WebSocket: connections open at once from one client address (this instance). */
  wsMaxConnectionsPerAddress: number;
  /** WebSocket: a connection that has started no operation this long after it opened is closed. */
  wsIdleTimeoutMs: number;
}

/** The code of every query refused for its shape (depth, aliases, directives, introspection, cost). */
export const QUERY_REFUSED_CODE = "GRAPHQL_VALIDATION_FAILED";

/** Introspection is served outside production only: the rule HTTP and WebSocket both apply. */
export function introspectionServed(nodeEnv: string): boolean {
  return nodeEnv !== "production";
}

/** A validation message without graphql-js's "Did you mean ...?" (which names schema fields): the same on HTTP and WebSocket. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, "");
}

/**
 * The validation rules HTTP (Apollo) and WebSocket (graphql-ws) share, so both refuse the same documents:
 * graphql-armor's depth, aliases and directives, and no introspection where it is not served. Tokens are bounded by
 * the parser (`maxTokens`); the cost, which depends on the variables, by {@link costRefusal} before execution.
 */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  const reject: GraphQLArmorCallbackConfiguration = {
    propagateOnRejection: false,
    onReject: [(ctx, error) => ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, "Query refused: "), { extensions: { code: QUERY_REFUSED_CODE } }))],
  };
  return [
    maxDepthRule({ n: limits.maxDepth, ...reject }),
    maxAliasesRule({ n: limits.maxAliases, ...reject }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reject }),
    ...(limits.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
}

/**
 * The refusal of an operation that costs more than `limits.maxCost` (computed from the document and variables,
 * nothing executed), naming its cost and the limit; undefined when it is within the limit.
 */
export function costRefusal(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, limits: Pick<QueryLimits, "maxCost" | "listBounds">): GraphQLError | undefined {
  const { cost } = queryCost(schema, document, operationName, variables, limits.listBounds);
  if (cost <= limits.maxCost) return undefined;
  const shown = Number.isSafeInteger(cost) ? String(cost) : cost.toExponential(2);
  return new GraphQLError(
    `Query refused: its cost is ${shown}, over the limit of ${limits.maxCost} (the values a response can hold, each list counted at its first/last/depth argument or its bound); ask for smaller pages or fewer nested lists`,
    { extensions: { code: QUERY_REFUSED_CODE, http: { status: 400 } } },
  );
}

/** Apollo's side of the shared limits: validation messages without suggestions, and the cost checked before execution. */
export function queryLimitsPlugin(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async validationDidStart() {
          return async (errors) => {
            for (const e of errors ?? []) e.message = withoutSuggestions(e.message);
          };
        },
        async didResolveOperation({ document, operationName, request }) {
          const refusal = costRefusal(schema, document, operationName, request.variables, limits);
          if (refusal) throw refusal;
        },
      };
    },
  };
}
