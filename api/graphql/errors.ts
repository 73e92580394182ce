import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { MatchingError, type MatchingErrorCode } from "../../matching";
import { PricingError, type PricingErrorCode } from "../../pricing";
import { inputRefusedByDatabase, SERVICE_ERROR_CODES, ServiceError, type ServiceErrorCode } from "../services/errors";

/** Every module error code, mapped to the contract's extensions.code. A code left out fails to compile. */
const SERVICE_CODES: Record<ServiceErrorCode, ServiceErrorCode> = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  INSUFFICIENT_FUNDS: "INSUFFICIENT_FUNDS",
  RATE_LIMITED: "RATE_LIMITED",
};
const PRICING_CODES: Record<PricingErrorCode, ServiceErrorCode> = {
  INVALID_AMOUNT: "BAD_USER_INPUT",
  NEGATIVE_AMOUNT: "BAD_USER_INPUT",
  TOO_MANY_DECIMALS: "BAD_USER_INPUT",
  AMOUNT_TOO_LARGE: "BAD_USER_INPUT",
  INVALID_QUANTITY: "BAD_USER_INPUT",
  INVALID_FEE: "BAD_USER_INPUT",
  INVALID_TIME: "BAD_USER_INPUT",
};
const MATCHING_CODES: Record<MatchingErrorCode, ServiceErrorCode> = {
  INVALID_GPU_MODEL: "BAD_USER_INPUT",
  INVALID_VRAM: "BAD_USER_INPUT",
  UNKNOWN_REGION: "BAD_USER_INPUT",
  INVALID_MARKET: "BAD_USER_INPUT",
  INVALID_WEIGHTS: "BAD_USER_INPUT",
  INVALID_REQUIREMENTS: "BAD_USER_INPUT",
  INVALID_CANDIDATE: "BAD_USER_INPUT",
  INVALID_HISTORY: "BAD_USER_INPUT",
};

/** The client-facing code of a module error, or undefined for anything else (which is masked). */
export function clientCode(error: unknown): ServiceErrorCode | undefined {
  if (error instanceof ServiceError) return SERVICE_CODES[error.code];
  if (error instanceof PricingError) return PRICING_CODES[error.code];
  if (error instanceof MatchingError) return MATCHING_CODES[error.code];
  return undefined;
}

/** Codes GraphQL and Apollo themselves produce for a bad request; passed through as they are. */
const REQUEST_CODES = new Set<string>([...SERVICE_ERROR_CODES, "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND", "OPERATION_RESOLUTION_FAILURE"]);

export const INTERNAL_ERROR_MESSAGE = "Internal server error; it has been logged";

/**
 * Apollo's formatError (also used for WebSocket errors): module errors get their contract code, request
 * errors keep theirs, a bad amount or market inside a literal becomes BAD_USER_INPUT; everything else is
 * masked and handed to `log`.
 */
export function formatError(log: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const cause = original instanceof GraphQLError && original.originalError ? original.originalError : original;
    const code = clientCode(cause);
    if (code) return { message: formatted.message, path: formatted.path, extensions: { code } };
    const refused = inputRefusedByDatabase(cause);
    if (refused) return { message: refused.message, path: formatted.path, extensions: { code: refused.code } };
    const given = formatted.extensions?.code;
    if (typeof given === "string" && REQUEST_CODES.has(given)) return { message: formatted.message, locations: formatted.locations, extensions: { code: given } };
    log(original);
    return { message: INTERNAL_ERROR_MESSAGE, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
