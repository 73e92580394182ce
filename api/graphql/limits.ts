import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import type { GraphQLArmorCallbackConfiguration } from "@escape.tech/graphql-armor-types";
import { GraphQLError, type ValidationRule } from "graphql";

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  /** WebSocket: operations at once per connection, and per principal over its connections (this instance). */
  wsMaxPerConnection: number;
  wsMaxPerPrincipal: number;
  /** WebSocket: bytes a connection may have waiting before a shared feed closes it as a slow consumer. */
  wsMaxBufferedBytes: number;
}

/**
 * graphql-armor's validation rules for depth, cost, aliases and directives, shared by HTTP (Apollo) and
 * WebSocket (graphql-ws) so both refuse the same queries. Tokens are bounded by the parser (`maxTokens`).
 */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  const reject: GraphQLArmorCallbackConfiguration = {
    propagateOnRejection: false,
    onReject: [(ctx, error) => ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, "Query refused: "), { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }))],
  };
  return [
    maxDepthRule({ n: limits.maxDepth, ...reject }),
    costLimitRule({ maxCost: limits.maxCost, ...reject }),
    maxAliasesRule({ n: limits.maxAliases, ...reject }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reject }),
  ];
}
