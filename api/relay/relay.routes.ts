import express, { type Request, type Response, type Router } from "express";
import type { Logger } from "pino";
import { MatchingError } from "../../matching";
import { PricingError } from "../../pricing";
import { rateLimit, type RateLimiterPort } from "../http/rate-limit";
import type { Services } from "../services";
import { ServiceError } from "../services/errors";
import { HTTP_STATUS } from "../http/error-status";

/**
 * The HTTPS relay (`/relay/v1`): jobs for clients without wallets, with API keys, an Idempotency-Key, USD prices
 * and a prepaid USD balance. Errors are `{ "error": { "code", "message" } }` with 400, 401, 402, 404, 409, 429.
 */
export function relayRoutes(services: Services, bodyLimitBytes: number, logger: Logger, limiter?: RateLimiterPort): Router {
  const router = express.Router();
  const fail = (res: Response, err: unknown) => {
    if (err instanceof ServiceError) return res.status(HTTP_STATUS[err.code]).json({ error: { code: err.code, message: err.message } });
    if (err instanceof PricingError || err instanceof MatchingError) return res.status(400).json({ error: { code: "BAD_USER_INPUT", message: err.message } });
    logger.error({ err }, "unexpected error in the relay");
    return res.status(500).json({ error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error; it has been logged" } });
  };
  const principal = (req: Request) => services.auth.authenticate(req.headers.authorization);
  if (limiter) router.use("/relay/v1", rateLimit(limiter, "relay"));
  router.post("/relay/v1/jobs", express.json({ limit: bodyLimitBytes }), async (req, res) => {
    try {
      const who = await principal(req);
      const key = req.header("idempotency-key") ?? undefined;
      const out = await services.relay.submit(who, key, req.body);
      res.status(out.created ? 201 : 200).json({ id: out.jobId, status: out.status, quote: out.quote });
    } catch (err) {
      fail(res, err);
    }
  });
  router.get("/relay/v1/jobs/:id", async (req, res) => {
    try {
      res.json(await services.relay.get(await principal(req), String(req.params.id)));
    } catch (err) {
      fail(res, err);
    }
  });
  router.get("/relay/v1/usage", async (req, res) => {
    try {
      res.json(await services.relay.usage(await principal(req)));
    } catch (err) {
      fail(res, err);
    }
  });
  return router;
}
