import type { ApolloServerPlugin, GraphQLResponse } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";
import type { GraphQLContext } from "./context";
import type { Freshness } from "../services/freshness";
import { BoundedMap } from "./bounded-map";

type SingleResult = Extract<GraphQLResponse["body"], { kind: "single" }>["singleResult"];

/** Root fields whose resolvers record what they read (ctx.cacheReads): orderBook, and offers for anonymous callers. */
const CACHEABLE_ROOT_FIELDS = new Set(["orderBook", "offers", "__typename"]);

/** Queries whose root fields are all cacheable reads (any aliases), without fragments or directives at the root. */
function cacheable(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === "query" &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && CACHEABLE_ROOT_FIELDS.has(s.name.value) && !s.directives?.length)
  );
}

/**
 * Whole-response cache of public market reads. The resolvers of the cacheable root fields record what they read in
 * `ctx.cacheReads`, each read saying whether it still holds: an order book, while the book cache still serves that
 * same snapshot; an offers page, while no change of its market's book was announced and for at most a short age (see
 * OfferListFreshness). An entry is served only while every one of its reads is valid; a response is stored only if
 * its reads are still valid when it is sent and it has no errors. Entries are per caller (the key carries the
 * account), so a field that depends on who asks is never served to another. At most `maxEntries` (oldest dropped).
 */
export function responseCache(maxEntries = 1000): ApolloServerPlugin<GraphQLContext> {
  const entries = new BoundedMap<string, { reads: Freshness[]; result: SingleResult }>(maxEntries);
  return {
    async requestDidStart() {
      let key: string | undefined;
      return {
        async responseForOperation(rc) {
          if (!cacheable(rc.operation)) return null;
          const caller = rc.contextValue.principal?.accountId ?? "";
          key = `${caller}\u0000${rc.queryHash}\u0000${rc.operationName ?? ""}\u0000${JSON.stringify(rc.request.variables ?? {})}`;
          const entry = entries.get(key);
          if (!entry || !entry.reads.every((r) => r.valid())) return null;
          return { http: rc.response.http, body: { kind: "single", singleResult: entry.result } };
        },
        async willSendResponse(rc) {
          const reads = rc.contextValue.cacheReads;
          if (key === undefined || reads.length === 0 || rc.response.body.kind !== "single") return;
          const result = rc.response.body.singleResult;
          if (result.errors?.length || entries.get(key)?.result === result || !reads.every((r) => r.valid())) return;
          entries.set(key, { reads: [...reads], result });
        },
      };
    },
  };
}
