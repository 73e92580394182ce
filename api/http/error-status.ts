import type { ErrorRequestHandler, RequestHandler } from "express";
import { MatchingError } from "../../matching";
import { PricingError } from "../../pricing";
import { badInput, inputRefusedByDatabase, ServiceError, type ServiceErrorCode } from "../services/errors";

/** The HTTP status of each client error code, for the REST routes (checkpoint transfers, the relay, admin USD). */
export const HTTP_STATUS: Record<ServiceErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INSUFFICIENT_FUNDS: 402,
  RATE_LIMITED: 429,
};

export interface RestReply {
  status: number;
  body: { error: { code: string; message: string } };
}

/** A client's error as a REST reply (`{ error: { code, message } }` with its status); undefined for anything else (a 500). */
export function clientErrorReply(err: unknown): RestReply | undefined {
  const e = err instanceof ServiceError ? err : err instanceof PricingError || err instanceof MatchingError ? badInput(err.message) : inputRefusedByDatabase(err);
  return e ? { status: HTTP_STATUS[e.code], body: { error: { code: e.code, message: e.message } } } : undefined;
}

/**
 * For REST routes under one prefix: a body express could not read (not JSON, too large, an unknown charset or
 * encoding) and a route that does not exist answer in the `{ error: { code, message } }` shape, not Express's own.
 */
export function restFallbacks(bodyLimitBytes: number): { notFound: RequestHandler; bodyErrors: ErrorRequestHandler } {
  return {
    notFound: (req, res) => {
      res.status(404).json({ error: { code: "NOT_FOUND", message: `there is no ${req.method} ${req.originalUrl.split("?")[0].slice(0, 200)}` } });
    },
    bodyErrors: (err: Error & { status?: number; type?: string }, _req, res, next) => {
      if (res.headersSent || !err.status || err.status >= 500) return next(err);
      const message =
        err.type === "entity.too.large" ? `the body is over ${bodyLimitBytes} bytes` : err.type === "entity.parse.failed" ? "the body is not valid JSON" : err.message;
      res.status(err.status).json({ error: { code: "BAD_USER_INPUT", message } });
    },
  };
}
