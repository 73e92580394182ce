import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { classifyError, ERROR_CODES, INTERNAL_ERROR_MESSAGE } from "../services/errors";

export interface RestReply {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

const INTERNAL_REPLY = { code: "INTERNAL_SERVER_ERROR", message: INTERNAL_ERROR_MESSAGE } as const;

/**
 * A client's error as a REST reply (`{ error: { code, message } }` with the status of its code in ERROR_CODES, and
 * Retry-After for a retryable one); undefined for anything else (an internal error).
 */
export function clientErrorReply(err: unknown): RestReply | undefined {
  const e = classifyError(err);
  if (!e) return undefined;
  const headers: Record<string, string> = ERROR_CODES[e.code].retryable ? { "Retry-After": String(e.retryAfterSeconds ?? 1) } : {};
  return { status: ERROR_CODES[e.code].httpStatus, headers, body: { error: { code: e.code, message: e.message } } };
}

/** Answers a REST route's failure: the client's error as itself (logged at warn when it is an outage), anything else a logged 500. */
export function sendRestError(res: Response, err: unknown, logger: Logger, where: string): void {
  const reply = clientErrorReply(err);
  if (reply) {
    if (reply.body.error.code === "UNAVAILABLE") logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, `${where}: a dependency is unavailable`);
    res.status(reply.status).set(reply.headers).json(reply.body);
    return;
  }
  logger.error({ err }, `unexpected error in ${where}`);
  res.status(500).json({ error: INTERNAL_REPLY });
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
      res.status(err.status).json({ error: { code: "BAD_USER_INPUT", message: bodyErrorMessage(err, bodyLimitBytes) } });
    },
  };
}

/** What express's body parsers refused, said for a client. */
export function bodyErrorMessage(err: Error & { type?: string }, bodyLimitBytes: number): string {
  return err.type === "entity.too.large" ? `the body is over ${bodyLimitBytes} bytes` : err.type === "entity.parse.failed" ? "the body is not valid JSON" : err.message;
}
