import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { backoffMs, sleep } from "./backoff";

/** A file's sha256 (64 lowercase hex digits) and size in bytes. */
export interface FileDigest {
  sha256: string;
  sizeBytes: number;
}

/** Moves checkpoint bytes: GET a resume checkpoint, PUT a new one. Injected so tests need no server. */
export interface Transfer {
  /** Downloads `url` into `file` (mode 0600) and returns its digest; throws on a non-2xx answer. */
  download(url: string, file: string): Promise<FileDigest>;
  /** PUTs `file` to `url` as application/octet-stream and returns the HTTP status (after retries on 5xx and network errors). */
  upload(url: string, file: string, sizeBytes: number): Promise<number>;
}

/** Hashes a file by streaming it. */
export async function sha256File(file: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), sizeBytes };
}

/** A transfer failure; `retryable` for network errors and 5xx. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TransferError";
  }
}

/** Options of {@link createHttpTransfer}. */
export interface HttpTransferOptions {
  attempts?: number;
  retryBaseMs?: number;
  /** Socket idle timeout in ms (default 60 s). */
  idleTimeoutMs?: number;
}

/** {@link Transfer} over HTTP(S) without credentials (the URLs are signed), retrying network errors and 5xx. */
export function createHttpTransfer(options: HttpTransferOptions = {}): Transfer {
  const attempts = options.attempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  async function withRetries<T>(run: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await run();
      } catch (err) {
        const retryable = !(err instanceof TransferError) || err.retryable;
        if (!retryable || i + 1 >= attempts) throw err;
        await sleep(backoffMs(i, retryBaseMs, 10_000));
      }
    }
  }

  return {
    download: (url, file) =>
      withRetries(async () => {
        const response = await fetch(url, { redirect: "follow" });
        if (!response.ok || !response.body) {
          await response.body?.cancel();
          throw new TransferError(`GET ${redact(url)} answered ${response.status}`, response.status >= 500, response.status);
        }
        const hash = createHash("sha256");
        let sizeBytes = 0;
        try {
          await pipeline(
            Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
            async function* (source: AsyncIterable<Buffer>) {
              for await (const chunk of source) {
                hash.update(chunk);
                sizeBytes += chunk.length;
                yield chunk;
              }
            },
            createWriteStream(file, { mode: 0o600 }),
          );
        } catch (err) {
          await rm(file, { force: true });
          throw err;
        }
        return { sha256: hash.digest("hex"), sizeBytes };
      }),

    upload: (url, file, sizeBytes) =>
      withRetries(async () => {
        const status = await put(url, file, sizeBytes, idleTimeoutMs);
        if (status >= 500) throw new TransferError(`PUT ${redact(url)} answered ${status}`, true, status);
        return status;
      }),
  };
}

function put(url: string, file: string, sizeBytes: number, idleTimeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === "https:" ? https : target.protocol === "http:" ? http : null;
    if (!lib) return reject(new TransferError(`cannot PUT to ${target.protocol} URLs`, false));
    const request = lib.request(target, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(sizeBytes) },
      timeout: idleTimeoutMs,
    });
    request.once("timeout", () => request.destroy(new Error(`PUT ${redact(url)} timed out`)));
    request.once("error", reject);
    request.once("response", (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
      response.once("error", reject);
    });
    const body = createReadStream(file);
    body.once("error", (err) => request.destroy(err));
    body.pipe(request);
  });
}

/** A URL without its query string (signed URLs carry their signature there). */
export function redact(url: string): string {
  const q = url.indexOf("?");
  return q >= 0 ? `${url.slice(0, q)}?…` : url;
}
