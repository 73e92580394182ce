import express, { type Router } from "express";
import type { Logger } from "pino";
import type { TransferService } from "../services/transfer.service";
import type { TransferKind } from "../services/transfer-urls";
import { badInput } from "../services/errors";
import { UploadOffsetError } from "../storage/blob-store";
import { parseContentRange, parseRange } from "./byte-range";
import { sendRestError } from "./error-status";

const KINDS = new Set<TransferKind>(["checkpoint", "input", "output", "result"]);

/**
 * Bytes through signed URLs: `PUT /transfers/<kind>/<id>` streams the body into the blob store (201 stored, 200 stored
 * before; 400 a size or sha256 other than declared, nothing kept; 403 a bad or expired URL; 413 over the limit; 503
 * the store is down, retry), `GET` (and HEAD) streams it back with Range support (206, 416). A PUT with a
 * Content-Range is resumable (agent/README.md, "Resumable uploads"): `bytes *\/<size>` with no body answers 202 and
 * `Upload-Offset: <bytes stored>`; `bytes <offset>-<last>/<size>` appends there (202 and the new offset, or 201 at the
 * last byte; 409 with `Upload-Offset` when the offset is not the stored one).
 */
export function transferRoutes(transfers: TransferService, logger: Logger): Router {
  const router = express.Router();
  const query = (req: express.Request, name: string) => (typeof req.query[name] === "string" ? (req.query[name] as string) : undefined);
  const kindOf = (req: express.Request) => (KINDS.has(req.params.kind as TransferKind) ? (req.params.kind as TransferKind) : undefined);

  router.put("/transfers/:kind/:id", async (req, res) => {
    const kind = kindOf(req);
    if (!kind) return void res.status(404).json({ error: { code: "NOT_FOUND", message: "no such transfer" } });
    const range = parseContentRange(typeof req.headers["content-range"] === "string" ? req.headers["content-range"] : undefined);
    try {
      const length = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
      const declared = Number.isSafeInteger(length) ? length : undefined;
      if (range === "invalid") throw badInput("Content-Range is `bytes */<size>` (how far is the upload?) or `bytes <first>-<last>/<size>`");
      if (range) {
        const part = await transfers.receivePart(kind, String(req.params.id), query(req, "expires"), query(req, "signature"), range, req, declared);
        res.setHeader("Upload-Offset", part.offset.toString());
        if (part.status === 202 && part.offset > 0n) res.setHeader("Range", `bytes=0-${part.offset - 1n}`);
        return void res.status(part.status).json({ sha256: part.sha256, sizeBytes: part.sizeBytes.toString(), stored: part.status !== 202, offset: part.offset.toString() });
      }
      const received = await transfers.receive(kind, String(req.params.id), query(req, "expires"), query(req, "signature"), req, declared);
      res.status(received.status).json({ sha256: received.sha256, sizeBytes: received.sizeBytes.toString(), stored: true });
    } catch (err) {
      if (req.destroyed && !req.complete) {
        return void logger.info({ kind, id: req.params.id }, range ? "a resumable upload was broken off by its sender; what arrived is kept" : "an upload was broken off by its sender; nothing was stored");
      }
      res.setHeader("Connection", "close");
      if (err instanceof UploadOffsetError) {
        res.status(409).setHeader("Upload-Offset", err.offset.toString()).json({ error: { code: "CONFLICT", message: err.message } });
      } else {
        sendRestError(res, err, logger, `a ${kind} upload`);
      }
      req.resume();
    }
  });

  router.get("/transfers/:kind/:id", async (req, res) => {
    const kind = kindOf(req);
    if (!kind) return void res.status(404).json({ error: { code: "NOT_FOUND", message: "no such transfer" } });
    try {
      const download = await transfers.download(kind, String(req.params.id), query(req, "expires"), query(req, "signature"));
      const range = parseRange(typeof req.headers.range === "string" ? req.headers.range : undefined, download.sizeBytes);
      res.setHeader("Accept-Ranges", "bytes");
      res.setHeader("ETag", `"${download.sha256}"`);
      res.setHeader("Content-Type", kind === "result" ? "text/plain; charset=utf-8" : "application/octet-stream");
      res.setHeader("Content-Disposition", `attachment; filename="${download.fileName.replace(/[^\x20-\x7e]|["\\]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(download.fileName)}`);
      if (range === "unsatisfiable") {
        res.status(416).setHeader("Content-Range", `bytes */${download.sizeBytes}`);
        return void res.end();
      }
      if (range) {
        res.status(206).setHeader("Content-Range", `bytes ${range.start}-${range.end}/${download.sizeBytes}`);
        res.setHeader("Content-Length", String(range.end - range.start + 1));
      } else {
        res.status(200).setHeader("Content-Length", download.sizeBytes.toString());
      }
      if (req.method === "HEAD" || download.sizeBytes === 0n) return void res.end();
      const body = await download.open(range);
      body.once("error", (err) => {
        logger.warn({ kind, id: req.params.id, err: { message: err.message } }, "a download broke off");
        res.destroy(err);
      });
      res.once("close", () => body.destroy());
      body.pipe(res);
    } catch (err) {
      if (res.headersSent) return void res.destroy(err as Error);
      sendRestError(res, err, logger, `a ${kind} download`);
    }
  });
  return router;
}
