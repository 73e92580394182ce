import { timingSafeEqual, createHash } from "node:crypto";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import express, { type Router } from "express";

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

/**
 * POST /admin/usd-credits { address, usd, note? } behind the admin credentials: credits a relay account's prepaid
 * USD balance. 404 when no admin credentials are configured.
 */
export function usdCreditRoutes(services: { relay: { credit(address: string, usd: unknown, note?: string): Promise<string> } }, admin: { user: string; password: string } | undefined): Router {
  const router = express.Router();
  router.post("/admin/usd-credits", express.json({ limit: 10_000 }), async (req, res) => {
    if (!admin) return res.status(404).end();
    if (!isAdmin(req.headers.authorization, admin.user, admin.password)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="gpu-exchange admin"');
      return res.status(401).json({ error: { code: "UNAUTHENTICATED", message: "admin credentials required" } });
    }
    try {
      const balance = await services.relay.credit(String(req.body?.address ?? ""), req.body?.usd, typeof req.body?.note === "string" ? req.body.note : undefined);
      return res.status(201).json({ address: req.body.address, balanceUsd: balance });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === "BAD_USER_INPUT" || e.code === "INVALID_AMOUNT" || e.code === "NEGATIVE_AMOUNT" || e.code === "TOO_MANY_DECIMALS") {
        return res.status(400).json({ error: { code: "BAD_USER_INPUT", message: e.message } });
      }
      throw err;
    }
  });
  return router;
}
