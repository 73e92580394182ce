import express, { type Router } from "express";
import type { Logger } from "pino";
import type { AssignmentService } from "../services/assignment.service";
import { sendRestError } from "./error-status";

/**
 * Checkpoint bytes, through signed URLs made by createCheckpointUpload (PUT) and resumeFrom (GET): the PUT counts
 * only with the declared size and sha256 (400 otherwise; 413 over the size limit; 409 when already stored).
 */
export function checkpointRoutes(assignments: AssignmentService, maxBytes: number, logger: Logger): Router {
  const router = express.Router();
  const fail = (res: express.Response, err: unknown) => sendRestError(res, err, logger, "a checkpoint transfer");
  const query = (req: express.Request, name: string) => (typeof req.query[name] === "string" ? (req.query[name] as string) : undefined);
  router.put("/checkpoints/:id", express.raw({ type: () => true, limit: maxBytes }), async (req, res) => {
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const stored = await assignments.storeCheckpointBytes(String(req.params.id), query(req, "expires"), query(req, "signature"), body);
      res.status(201).json({ id: stored.id, step: stored.step, sha256: stored.sha256, sizeBytes: stored.sizeBytes.toString() });
    } catch (err) {
      fail(res, err);
    }
  });
  router.get("/checkpoints/:id", async (req, res) => {
    try {
      const data = await assignments.checkpointBytes(String(req.params.id), query(req, "expires"), query(req, "signature"));
      res.type("application/octet-stream").send(data);
    } catch (err) {
      fail(res, err);
    }
  });
  return router;
}
