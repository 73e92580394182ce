import { ExchangeError, type ErrorCode } from "../errors";

/** What gx's exit status means (documented in sdk/README.md). */
export const EXIT = {
  OK: 0,
  /** Anything else: an internal error of the server (masked), downloaded bytes that do not match. */
  FAILURE: 1,
  /** The command or its input is wrong: unknown option, bad value, BAD_USER_INPUT and GraphQL's own refusals. */
  BAD_INPUT: 2,
  /** Not logged in, the credential refused (UNAUTHENTICATED) or not allowed (FORBIDDEN). */
  AUTH: 3,
  /** Refused by the state of things: NOT_FOUND, CONFLICT, INSUFFICIENT_FUNDS, QUOTA_EXCEEDED, LIMIT_EXCEEDED. */
  REFUSED: 4,
  /** Try again later: UNAVAILABLE, RATE_LIMITED, the API not reachable. */
  UNAVAILABLE: 5,
  /** The job ended without completing (FAILED, CANCELLED, EXPIRED). */
  JOB_NOT_COMPLETED: 6,
} as const;

/** The exit status of each code; a code added to the SDK's list fails to compile until it is given one. */
const BY_CODE: Record<ErrorCode, number> = {
  BAD_USER_INPUT: EXIT.BAD_INPUT,
  GRAPHQL_PARSE_FAILED: EXIT.BAD_INPUT,
  GRAPHQL_VALIDATION_FAILED: EXIT.BAD_INPUT,
  BAD_REQUEST: EXIT.BAD_INPUT,
  PERSISTED_QUERY_NOT_FOUND: EXIT.BAD_INPUT,
  OPERATION_RESOLUTION_FAILURE: EXIT.BAD_INPUT,
  PAYLOAD_TOO_LARGE: EXIT.BAD_INPUT,
  UNAUTHENTICATED: EXIT.AUTH,
  FORBIDDEN: EXIT.AUTH,
  NOT_FOUND: EXIT.REFUSED,
  CONFLICT: EXIT.REFUSED,
  INSUFFICIENT_FUNDS: EXIT.REFUSED,
  QUOTA_EXCEEDED: EXIT.REFUSED,
  LIMIT_EXCEEDED: EXIT.REFUSED,
  UNAVAILABLE: EXIT.UNAVAILABLE,
  RATE_LIMITED: EXIT.UNAVAILABLE,
  NETWORK_ERROR: EXIT.UNAVAILABLE,
  HTTP_ERROR: EXIT.UNAVAILABLE,
  BAD_RESPONSE: EXIT.FAILURE,
  INTERNAL_SERVER_ERROR: EXIT.FAILURE,
  INTEGRITY_ERROR: EXIT.FAILURE,
  ABORTED: EXIT.FAILURE,
};

/** A failure of the CLI itself (not the API's), with its exit status: a bad flag, a missing login, a key file. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The exit status of an error. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ExchangeError) return BY_CODE[error.code];
  return EXIT.FAILURE;
}

/** The line gx prints for an error: the server's code and message (and when to retry, if it said). */
export function errorLine(error: unknown): string {
  if (error instanceof ExchangeError) {
    const retry = error.retryAfterSeconds === undefined ? "" : ` (try again in ${error.retryAfterSeconds} s)`;
    return `${error.code}: ${error.message}${retry}`;
  }
  return error instanceof Error ? error.message : String(error);
}
