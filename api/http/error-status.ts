import type { ServiceErrorCode } from "../services/errors";

/** The HTTP status of each client error code, for the REST routes (checkpoint transfers, the relay). */
export const HTTP_STATUS: Record<ServiceErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INSUFFICIENT_FUNDS: 402,
  RATE_LIMITED: 429,
};
