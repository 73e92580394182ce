import type { ApolloServerPlugin, GraphQLResponse } from "@apollo/server";
import { Kind, type OperationDefinitionNode } from "graphql";
import type { BookRead, GraphQLContext } from "./context";
import { BoundedMap } from "./bounded-map";

type SingleResult = Extract<GraphQLResponse["body"], { kind: "single" }>["singleResult"];

const CACHEABLE_ROOT_FIELDS = new Set(["orderBook", "__typename"]);

/** Queries whose root fields are all order-book reads (any aliases), without fragments or directives. */
function cacheable(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === "query" &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && CACHEABLE_ROOT_FIELDS.has(s.name.value) && !s.directives?.length)
  );
}

/**
 * Whole-response cache of order-book queries, invalidated by the book cache itself: an entry is served while,
 * for every book it was built from, `current(market, depth)` still returns that same immutable snapshot object
 * (a newer sequence, or the snapshot's max age, replaces it). Order books are public, so entries are shared by
 * all callers. Responses with errors are never stored. At most `maxEntries` (oldest dropped first).
 */
export function bookResponseCache(current: (market: string, depth: number | null) => object | undefined, maxEntries = 1000): ApolloServerPlugin<GraphQLContext> {
  const entries = new BoundedMap<string, { reads: BookRead[]; result: SingleResult }>(maxEntries);
  return {
    async requestDidStart() {
      let key: string | undefined;
      return {
        async responseForOperation(rc) {
          if (!cacheable(rc.operation)) return null;
          key = `${rc.queryHash}\u0000${rc.operationName ?? ""}\u0000${JSON.stringify(rc.request.variables ?? {})}`;
          const entry = entries.get(key);
          if (!entry || !entry.reads.every((r) => current(r.market, r.depth) === r.book)) return null;
          return { http: rc.response.http, body: { kind: "single", singleResult: entry.result } };
        },
        async willSendResponse(rc) {
          const reads = rc.contextValue.bookReads;
          if (key === undefined || reads.length === 0 || rc.response.body.kind !== "single") return;
          const result = rc.response.body.singleResult;
          if (result.errors?.length || entries.get(key)?.result === result) return;
          entries.set(key, { reads: [...reads], result });
        },
      };
    },
  };
}
