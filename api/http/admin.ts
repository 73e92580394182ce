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
