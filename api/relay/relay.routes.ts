import express, { type Request, type Response, type Router } from "express";
import type { Logger } from "pino";
import { principalOf, rateLimit, type AddressOf, type RateLimiterPort } from "../http/rate-limit";
import type { Services } from "../services";
import { restFallbacks, sendRestError } from "../http/error-status";

/**
 * The HTTPS relay (`/relay/v1`): jobs for clients without wallets, with API keys, an Idempotency-Key, USD prices
 * and a prepaid USD balance. Errors are `{ "error": { "code", "message" } }` with 400, 401, 402, 404, 409, 429, and
 * 503 UNAVAILABLE when the operator's OGPU treasury is not configured or cannot hold the job.
 */
export function relayRoutes(services: Services, bodyLimitBytes: number, logger: Logger, limiter?: RateLimiterPort, addressOf?: AddressOf): Router {
  const router = express.Router();
  const fail = (res: Response, err: unknown) => sendRestError(res, err, logger, "the relay");
  const authenticate = (header: string | undefined) => services.auth.authenticate(header);
  const principal = (req: Request, res: Response) => principalOf(res, req.headers.authorization, authenticate);
  if (limiter) router.use("/relay/v1", rateLimit(limiter, "relay", authenticate, addressOf));
  /** A route's work, with every failure answered by `fail`. */
  const handled = (work: (req: Request, res: Response) => Promise<unknown>) => async (req: Request, res: Response) => {
    try {
      await work(req, res);
    } catch (err) {
      fail(res, err);
    }
  };
  router.post(
    "/relay/v1/jobs",
    express.json({ limit: bodyLimitBytes }),
    handled(async (req, res) => {
      const out = await services.relay.submit(await principal(req, res), req.header("idempotency-key") ?? undefined, req.body);
      res.status(out.created ? 201 : 200).json({ id: out.jobId, status: out.status, quote: out.quote });
    }),
  );
  router.get("/relay/v1/jobs/:id", handled(async (req, res) => res.json(await services.relay.get(await principal(req, res), String(req.params.id)))));
  router.get(
    "/relay/v1/jobs/:id/logs",
    handled(async (req, res) => res.json(await services.relay.logs(await principal(req, res), String(req.params.id), req.query.after, req.query.limit))),
  );
  router.delete("/relay/v1/jobs/:id", handled(async (req, res) => res.json(await services.relay.cancel(await principal(req, res), String(req.params.id)))));
  router.get("/relay/v1/usage", handled(async (req, res) => res.json(await services.relay.usage(await principal(req, res)))));
  const fallbacks = restFallbacks(bodyLimitBytes);
  router.use("/relay", fallbacks.notFound);
  router.use("/relay", fallbacks.bodyErrors);
  return router;
}
