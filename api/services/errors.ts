import { MatchingError, type MatchingErrorCode } from "../../matching";
import { PricingError, type PricingErrorCode } from "../../pricing";
import { driverErrorOf, isConnectionFailure, isTransactionConflict } from "../db/db-errors";
import { BlobMismatchError, BlobNotFoundError, BlobStoreUnavailableError } from "../storage/blob-store";

/**
 * Every error code a client can meet, with its HTTP status (REST routes; GraphQL over HTTP answers 200 with
 * `extensions.code`) and whether the same request may succeed later unchanged. This table is the one description
 * the GraphQL, REST and WebSocket answers are all derived from: a code missing here fails to compile.
 */
export const ERROR_CODES = {
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

export type ServiceErrorCode = keyof typeof ERROR_CODES;

/** What every transport says of an error it masks (code INTERNAL_SERVER_ERROR): nothing of the error itself. */
export const INTERNAL_ERROR_MESSAGE = "Internal server error; it has been logged";
export const SERVICE_ERROR_CODES = Object.keys(ERROR_CODES) as ServiceErrorCode[];

/** An error of a use case, with a code from the fixed list and a message that says how to fix it. */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** For retryable codes: when to try again (Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const badInput = (message: string) => new ServiceError("BAD_USER_INPUT", message);
export const notFound = (what: string, id: string) => new ServiceError("NOT_FOUND", `${what} ${id.slice(0, 64)} does not exist`);
export const forbidden = (message: string) => new ServiceError("FORBIDDEN", message);
export const conflict = (message: string) => new ServiceError("CONFLICT", message);
export const unavailable = (message: string, retryAfterSeconds = 2) => new ServiceError("UNAVAILABLE", message, retryAfterSeconds);

/** The pure modules' codes, as the client's. A code left out fails to compile. */
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

/**
 * Postgres refusing a value the client sent (a NUL in text, a number beyond a column's range) as BAD_USER_INPUT;
 * undefined for any other error. A backstop behind the services' own checks, so such input is never a 500.
 */
export function inputRefusedByDatabase(error: unknown): ServiceError | undefined {
  const code = driverErrorOf(error)?.code;
  if (code === "22021" || code === "22P05") return badInput("text may not contain NUL or characters that are not UTF-8");
  if (code === "22003") return badInput("a number is beyond what can be stored; send a smaller one");
  return undefined;
}

/** Messages of ioredis (and BullMQ over it) for a Redis that does not answer (they carry no code). */
const REDIS_DOWN_MESSAGE = /Connection is closed|Command timed out|Reached the max retries per request limit|Stream isn't writeable/i;

/**
 * A dependency that cannot answer now (Postgres, Redis or a pool that timed out), or a transaction that kept
 * losing to concurrent ones, as a retryable UNAVAILABLE; undefined for anything else.
 */
export function dependencyOutage(error: unknown): ServiceError | undefined {
  const e = driverErrorOf(error);
  if (!e) return undefined;
  if (isTransactionConflict(error)) return unavailable("the request kept meeting concurrent changes; send it again", 1);
  if (isConnectionFailure(error) || REDIS_DOWN_MESSAGE.test(typeof e.message === "string" ? e.message : "") || e.name === "MaxRetriesPerRequestError") {
    return unavailable("a service the API depends on is not answering; try again in a few seconds");
  }
  return undefined;
}

/**
 * Any error as the client's error, when it is one: a module error with its code, input the database refused, a
 * dependency outage; undefined for everything else (an internal error: masked and logged).
 */
export function classifyError(error: unknown): ServiceError | undefined {
  if (error instanceof ServiceError) return error;
  if (error instanceof PricingError) return new ServiceError(PRICING_CODES[error.code], error.message);
  if (error instanceof MatchingError) return new ServiceError(MATCHING_CODES[error.code], error.message);
  if (error instanceof BlobMismatchError) return badInput(`${error.message}; nothing was stored`);
  if (error instanceof BlobStoreUnavailableError) return unavailable(`the blob store cannot serve this now (${error.message}); try again shortly`, 5);
  if (error instanceof BlobNotFoundError) return new ServiceError("NOT_FOUND", "these bytes are no longer stored");
  return inputRefusedByDatabase(error) ?? dependencyOutage(error);
}
