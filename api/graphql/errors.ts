import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { classifyError, INTERNAL_ERROR_MESSAGE, SERVICE_ERROR_CODES, type ServiceError } from "../services/errors";

/** Codes GraphQL and Apollo themselves produce for a bad request; passed through as they are. */
const REQUEST_CODES = new Set<string>([...SERVICE_ERROR_CODES, "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND", "OPERATION_RESOLUTION_FAILURE"]);

export { INTERNAL_ERROR_MESSAGE };

/** A classified error's GraphQL extensions: its code, and for a retryable one when to try again. */
export function errorExtensions(e: ServiceError): { code: string; retryAfterSeconds?: number } {
  return e.retryAfterSeconds === undefined ? { code: e.code } : { code: e.code, retryAfterSeconds: e.retryAfterSeconds };
}

/**
 * Apollo's formatError (also used for WebSocket errors): errors the table in services/errors.ts classifies get their
 * code (module errors, refused input, dependency outages as UNAVAILABLE), request errors keep theirs; everything else
 * is masked and handed to `log`.
 */
export function formatError(log: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const cause = original instanceof GraphQLError && original.originalError ? original.originalError : original;
    const classified = classifyError(cause);
    if (classified) {
      const message = classified === cause ? formatted.message : classified.message;
      return { message, path: formatted.path, extensions: errorExtensions(classified) };
    }
    const given = formatted.extensions?.code;
    if (typeof given === "string" && REQUEST_CODES.has(given)) return { message: formatted.message, locations: formatted.locations, extensions: { code: given } };
    log(original);
    return { message: INTERNAL_ERROR_MESSAGE, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
