import { timingSafeEqual, createHash } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { clientErrorReply, restFallbacks } from "./error-status";

export const ADMIN_QUEUES_PATH = "/admin/queues";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time check of a Basic authorization header against the admin credentials. */
export function isAdmin(header: string | undefined, user: string, password: string): boolean {
  if (!header?.startsWith("Basic ")) return false;
  const given = Buffer.from(header.slice(6), "base64").toString("utf8");
  return timingSafeEqual(digest(given), digest(`${user}:${password}`));
}

/**
 * bull-board at /admin/queues behind HTTP Basic admin credentials, listing every queue. Without
 * credentials configured the route answers 404: there is no admin to let in.
 */
export function adminRoutes(queues: Queue[], credentials: { user: string; password: string } | undefined): Router {
  const router = express.Router();
  if (!credentials) {
    router.use(ADMIN_QUEUES_PATH, (_req, res) => {
      res.status(404).type("text/plain").send("admin is disabled: set ADMIN_USER and ADMIN_PASSWORD");
    });
    return router;
  }
  const board = new ExpressAdapter();
  board.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
  router.use(
    ADMIN_QUEUES_PATH,
    (req, res, next) => {
      if (isAdmin(req.headers.authorization, credentials.user, credentials.password)) return next();
      res.setHeader("WWW-Authenticate", 'Basic realm="gpu-exchange admin", charset="UTF-8"');
      res.status(401).type("text/plain").send("admin credentials required");
    },
    board.getRouter(),
  );
  return router;
}

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** Wraps an admin handler: 404 without admin credentials configured, 401 without them given, service errors as REST errors. */
function adminGuard(admin: { user: string; password: string } | undefined): (handle: Handler) => (req: Request, res: Response, next: NextFunction) => Promise<unknown> {
  return (handle) => async (req, res, next) => {
    if (!admin) return res.status(404).end();
    if (!isAdmin(req.headers.authorization, admin.user, admin.password)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="gpu-exchange admin"');
      return res.status(401).json({ error: { code: "UNAUTHENTICATED", message: "admin credentials required" } });
    }
    try {
      return await handle(req, res);
    } catch (err) {
      const reply = clientErrorReply(err);
      return reply ? res.status(reply.status).set(reply.headers).json(reply.body) : next(err);
    }
  };
}

interface UsdAdmin {
  credit(address: string, usd: unknown, note?: unknown): Promise<string>;
  rate(): Promise<{ usdPerOgpu: string; source: string; at: Date | null } | undefined>;
  feedRate(usdPerOgpu: unknown, source: unknown): Promise<string>;
}

/**
 * The relay's USD side behind the admin credentials (404 when none are configured):
 * - POST /admin/usd-credits { address, usd, note? }: credits an account's prepaid USD balance;
 * - GET /admin/usd-rate: the OGPU/USD rate new relay jobs are quoted at, and where it comes from (nulls: none);
 * - POST /admin/usd-rate { usdPerOgpu, source? }: feeds a rate (an operator, or a price feed's poller).
 * Bad input is 400 BAD_USER_INPUT and changes nothing.
 */
export function usdAdminRoutes(relay: UsdAdmin, admin: { user: string; password: string } | undefined): Router {
  const router = express.Router();
  const guarded = adminGuard(admin);
  const limit = 10_000;
  const json = express.json({ limit });
  router.post(
    "/admin/usd-credits",
    json,
    guarded(async (req, res) => {
      const balance = await relay.credit(String(req.body?.address ?? ""), req.body?.usd, req.body?.note ?? undefined);
      return res.status(201).json({ address: req.body.address, balanceUsd: balance });
    }),
  );
  router.get(
    "/admin/usd-rate",
    guarded(async (_req, res) => {
      const rate = await relay.rate();
      // null: no current rate (the feed stopped and OGPU_USD_RATE is unset), so the relay quotes nothing
      return res.json(rate ? { usdPerOgpu: rate.usdPerOgpu, source: rate.source, at: rate.at } : { usdPerOgpu: null, source: null, at: null });
    }),
  );
  router.post(
    "/admin/usd-rate",
    json,
    guarded(async (req, res) => res.status(201).json({ usdPerOgpu: await relay.feedRate(req.body?.usdPerOgpu, req.body?.source) })),
  );
  router.use(["/admin/usd-credits", "/admin/usd-rate"], restFallbacks(limit).bodyErrors);
  return router;
}

interface SettlementAdmin {
  rebatch(batchId: string): Promise<{ batchId: bigint; action: string; into: bigint[] }>;
}

/**
 * Settlement behind the admin credentials (404 when none are configured):
 * - POST /admin/settlements/:batchId/rebatch: a FAILED batch's charges go to new batches now; a PENDING batch waiting
 *   out a retry is sent on the next pass; 409 CONFLICT for a batch with nothing to re-batch (sent, settled, or done).
 */
export function settlementAdminRoutes(settlements: SettlementAdmin, admin: { user: string; password: string } | undefined): Router {
  const router = express.Router();
  router.post(
    "/admin/settlements/:batchId/rebatch",
    adminGuard(admin)(async (req, res) => {
      const r = await settlements.rebatch(String(req.params.batchId));
      return res.status(201).json({ batchId: r.batchId.toString(), action: r.action, into: r.into.map(String) });
    }),
  );
  return router;
}
