/**
 * The codes an answer of the API can carry in `extensions.code`, and the error the SDK throws for them.
 * The lists are kept equal to the server's by a test (errors.test.ts).
 */

/**
 * Codes of the server's own errors (its api/services/errors.ts table), with the HTTP status of its REST routes and
 * signed URLs, and whether the same request may succeed later.
 */
export const SERVER_ERROR_CODES = {
  UNAUTHENTICATED: { httpStatus: 401, retryable: false },
  FORBIDDEN: { httpStatus: 403, retryable: false },
  BAD_USER_INPUT: { httpStatus: 400, retryable: false },
  NOT_FOUND: { httpStatus: 404, retryable: false },
  CONFLICT: { httpStatus: 409, retryable: false },
  INSUFFICIENT_FUNDS: { httpStatus: 402, retryable: false },
  /** The account's stored bytes would pass its storage quota. */
  QUOTA_EXCEEDED: { httpStatus: 507, retryable: false },
  /** A body larger than the limit of what it is (a checkpoint, an input, an output). */
  PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  RATE_LIMITED: { httpStatus: 429, retryable: true },
  /** An account's limit on the book (open offers, nodes, pending jobs): the message names the limit and its value. */
  LIMIT_EXCEEDED: { httpStatus: 422, retryable: false },
  /** A dependency (Postgres, Redis, the chain node, the operator's treasury or rate) cannot serve the request now. */
  UNAVAILABLE: { httpStatus: 503, retryable: true },
} as const satisfies Record<string, { httpStatus: number; retryable: boolean }>;

/** Codes GraphQL and Apollo give a request they cannot run (passed through by the server), and a masked internal error. */
export const GRAPHQL_ERROR_CODES = [
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "OPERATION_RESOLUTION_FAILURE",
  "INTERNAL_SERVER_ERROR",
] as const;

/**
 * Codes the SDK itself gives what went wrong on the way: NETWORK_ERROR (the API could not be reached, or a socket
 * closed), HTTP_ERROR (a status without a GraphQL answer), BAD_RESPONSE (an answer that is not GraphQL),
 * ABORTED (the caller's signal), INTEGRITY_ERROR (downloaded bytes whose sha256 is not the one announced).
 */
export const CLIENT_ERROR_CODES = ["NETWORK_ERROR", "HTTP_ERROR", "BAD_RESPONSE", "ABORTED", "INTEGRITY_ERROR"] as const;

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;
export type GraphqlErrorCode = (typeof GRAPHQL_ERROR_CODES)[number];
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
/** Every code an {@link ExchangeError} can carry. */
export type ErrorCode = ServerErrorCode | GraphqlErrorCode | ClientErrorCode;

/** All codes, in one list. */
export const ERROR_CODES: readonly ErrorCode[] = [...(Object.keys(SERVER_ERROR_CODES) as ServerErrorCode[]), ...GRAPHQL_ERROR_CODES, ...CLIENT_ERROR_CODES];

const KNOWN = new Set<string>(ERROR_CODES);

/** True when `code` is one of {@link ERROR_CODES}. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN.has(code);
}

/** An error of the API or of the way to it, with a code from {@link ERROR_CODES} and the server's message. */
export class ExchangeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: {
      /** For RATE_LIMITED and UNAVAILABLE: when to try again, as the server said. */
      retryAfterSeconds?: number;
      /** The HTTP status, when there was one. */
      status?: number;
      /** The operation that met it. */
      operation?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ExchangeError";
  }

  /** Whether sending the same request later may succeed (RATE_LIMITED, UNAVAILABLE, NETWORK_ERROR). */
  get retryable(): boolean {
    return isRetryable(this.code);
  }

  get retryAfterSeconds(): number | undefined {
    return this.options.retryAfterSeconds;
  }
}

/** Whether a code means "try again later": RATE_LIMITED, UNAVAILABLE (the server's table) and NETWORK_ERROR. */
export function isRetryable(code: ErrorCode): boolean {
  if (code in SERVER_ERROR_CODES) return SERVER_ERROR_CODES[code as ServerErrorCode].retryable;
  return code === "NETWORK_ERROR";
}

/** A GraphQL error as it comes over the wire. */
export interface WireGraphqlError {
  message?: string;
  extensions?: { code?: unknown; retryAfterSeconds?: unknown } & Record<string, unknown>;
}

/** The {@link ExchangeError} of a GraphQL error: its code when known, else INTERNAL_SERVER_ERROR. */
export function fromGraphqlError(error: WireGraphqlError, operation?: string, status?: number): ExchangeError {
  const code = isErrorCode(error.extensions?.code) ? error.extensions.code : "INTERNAL_SERVER_ERROR";
  const retry = error.extensions?.retryAfterSeconds;
  return new ExchangeError(code, error.message ?? code, { operation, status, retryAfterSeconds: typeof retry === "number" ? retry : undefined });
}

const BY_STATUS = new Map<number, ErrorCode>();
for (const [code, { httpStatus }] of Object.entries(SERVER_ERROR_CODES)) if (!BY_STATUS.has(httpStatus)) BY_STATUS.set(httpStatus, code as ServerErrorCode);

/** The code of an HTTP status that came without a coded body (the server's table; HTTP_ERROR for any other). */
export function codeOfStatus(status: number): ErrorCode {
  return BY_STATUS.get(status) ?? "HTTP_ERROR";
}

/** Anything thrown or passed to an error callback, as an {@link ExchangeError} (kept as it is when it is one). */
export function toExchangeError(error: unknown, operation?: string): ExchangeError {
  if (error instanceof ExchangeError) return error;
  if (Array.isArray(error) && error.length > 0) return fromGraphqlError(error[0] as WireGraphqlError, operation);
  if (isCloseEvent(error)) {
    if (error.code === 4403 || error.code === 4401) return new ExchangeError("UNAUTHENTICATED", `the API closed the socket: ${error.reason || error.code}`, { operation, cause: error });
    return new ExchangeError("NETWORK_ERROR", `the socket closed (${error.code}${error.reason ? `: ${error.reason}` : ""})`, { operation, cause: error });
  }
  if (error instanceof Error && error.name === "AbortError") return new ExchangeError("ABORTED", "aborted", { operation, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new ExchangeError("NETWORK_ERROR", message, { operation, cause: error });
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "number" && "reason" in value;
}
