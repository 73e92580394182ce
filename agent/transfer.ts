import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { backoffMs, sleep } from "./backoff";

/** A file's sha256 (64 lowercase hex digits) and size in bytes. */
export interface FileDigest {
  sha256: string;
  sizeBytes: number;
}

/** What a single PUT got back: the HTTP status and the body's message (up to 300 characters). */
export interface PutAnswer {
  status: number;
  message: string;
}

/** Moves bytes to and from the signed URLs of the store. Injected so tests need no server. */
export interface Transfer {
  /**
   * Downloads `url` into `file` (mode 0600) and returns its digest; throws on a non-2xx answer. A download cut off
   * part-way is retried from where it stopped (`Range`), or from the start when the server ignores the range.
   */
  download(url: string, file: string): Promise<FileDigest>;
  /** PUTs `file` to `url` as application/octet-stream and returns the HTTP status (after retries on 5xx and network errors). */
  upload(url: string, file: string, sizeBytes: number): Promise<number>;
  /**
   * One PUT of `file` (streamed, `content-length: sizeBytes`) without retries: the status and the body's message.
   * Throws a retryable {@link TransferError} on a network error or timeout; `signal` aborts it.
   */
  put(url: string, file: string, sizeBytes: number, signal?: AbortSignal): Promise<PutAnswer>;
}

/** Hashes a file by streaming it. */
export async function sha256File(file: string): Promise<FileDigest> {
  return sha256Stream(createReadStream(file));
}

/** Hashes an open file from its start by streaming it; the handle stays open (its owner closes it). */
export async function sha256Handle(handle: FileHandle): Promise<FileDigest> {
  return sha256Stream(handle.createReadStream({ start: 0, autoClose: false }));
}

async function sha256Stream(stream: AsyncIterable<unknown>): Promise<FileDigest> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of stream) {
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
  /** Tries of a request that fails without progress (default 5); a download that got bytes further starts the count again. */
  attempts?: number;
  retryBaseMs?: number;
  /** Socket idle timeout in ms (default 60 s). */
  idleTimeoutMs?: number;
  /** Waits between tries (tests inject one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Most tries of one download in all, progress or not. */
const MAX_DOWNLOAD_TRIES = 100;

/** {@link Transfer} over HTTP(S) without credentials (the URLs are signed), retrying network errors and 5xx. */
export function createHttpTransfer(options: HttpTransferOptions = {}): Transfer {
  const attempts = options.attempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const wait = options.sleep ?? ((ms: number) => sleep(ms));

  async function withRetries<T>(run: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await run();
      } catch (err) {
        if (!isRetryable(err) || i + 1 >= attempts) throw err;
        await wait(backoffMs(i, retryBaseMs, 10_000));
      }
    }
  }

  return {
    async download(url, file) {
      const state: DownloadState = { have: 0 };
      let failures = 0;
      try {
        for (let tries = 1; ; tries++) {
          const before = state.have;
          try {
            return await downloadOnce(url, file, state, idleTimeoutMs);
          } catch (err) {
            failures = state.have > before ? 1 : failures + 1;
            if (!isRetryable(err) || failures >= attempts || tries >= MAX_DOWNLOAD_TRIES) throw err;
            await wait(backoffMs(failures - 1, retryBaseMs, 10_000));
          }
        }
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
    },

    upload: (url, file, sizeBytes) =>
      withRetries(async () => {
        const { status } = await put(url, file, sizeBytes, idleTimeoutMs);
        if (status >= 500) throw new TransferError(`PUT ${redact(url)} answered ${status}`, true, status);
        return status;
      }),

    put: (url, file, sizeBytes, signal) => put(url, file, sizeBytes, idleTimeoutMs, signal),
  };
}

function isRetryable(err: unknown): boolean {
  return !(err instanceof TransferError) || err.retryable;
}

/** Bytes of a download already written to its file (and so known good) by earlier tries. */
interface DownloadState {
  have: number;
}

/**
 * One GET of `url` into `file`: from the start, or, when earlier tries left `state.have` bytes, with
 * `Range: bytes=<have>-` after hashing those bytes again (a 200 answer starts the file over, a 416 or a range
 * that does not start at `have` restarts from zero on the next try). `state.have` follows what is on disk.
 */
async function downloadOnce(url: string, file: string, state: DownloadState, idleTimeoutMs: number): Promise<FileDigest> {
  const hash = createHash("sha256");
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new TransferError(`GET ${redact(url)} timed out`, true)), idleTimeoutMs);
  };
  try {
    arm();
    const resuming = state.have > 0;
    const response = await fetch(url, { redirect: "follow", signal: idle.signal, headers: resuming ? { range: `bytes=${state.have}-` } : {} });
    if (resuming && response.status === 416) {
      await response.body?.cancel();
      state.have = 0;
      throw new TransferError(`GET ${redact(url)} refused the range; starting over`, true, 416);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new TransferError(`GET ${redact(url)} answered ${response.status}`, response.status >= 500 || response.status === 429, response.status);
    }
    let handle: FileHandle;
    if (resuming && response.status === 206) {
      const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
      if (start === undefined || Number(start) !== state.have) {
        await response.body.cancel();
        const asked = state.have;
        state.have = 0;
        throw new TransferError(`GET ${redact(url)} answered a range that does not start at byte ${asked}; starting over`, true, 206);
      }
      handle = await open(file, "r+");
      try {
        await handle.truncate(state.have);
        for await (const chunk of handle.createReadStream({ start: 0, end: state.have - 1, autoClose: false })) hash.update(chunk as Buffer);
      } catch (err) {
        await handle.close();
        throw err;
      }
    } else {
      state.have = 0;
      handle = await open(file, "w", 0o600);
    }
    try {
      for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
        arm();
        let written = 0;
        while (written < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, state.have + written);
          written += bytesWritten;
        }
        hash.update(chunk);
        state.have += chunk.length;
      }
    } catch (err) {
      throw idle.signal.aborted && idle.signal.reason instanceof Error ? idle.signal.reason : err;
    } finally {
      await handle.close();
    }
    return { sha256: hash.digest("hex"), sizeBytes: state.have };
  } finally {
    clearTimeout(timer);
  }
}

const MAX_ANSWER_BYTES = 16 * 1024;

function put(url: string, file: string, sizeBytes: number, idleTimeoutMs: number, signal?: AbortSignal): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === "https:" ? https : target.protocol === "http:" ? http : null;
    if (!lib) return reject(new TransferError(`cannot PUT to ${target.protocol} URLs`, false));
    if (signal?.aborted) return reject(new TransferError(`PUT ${redact(url)} aborted`, false));
    const request = lib.request(target, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(sizeBytes) },
      timeout: idleTimeoutMs,
    });
    const onAbort = () => request.destroy(new TransferError(`PUT ${redact(url)} aborted`, false));
    signal?.addEventListener("abort", onAbort, { once: true });
    const settle = <T>(fn: (value: T) => void) => (value: T) => {
      signal?.removeEventListener("abort", onAbort);
      fn(value);
    };
    const fail = settle((err: unknown) => reject(err instanceof TransferError ? err : new TransferError(`PUT ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`, true)));
    request.once("timeout", () => request.destroy(new TransferError(`PUT ${redact(url)} timed out`, true)));
    request.once("error", fail);
    request.once("response", (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on("data", (chunk: Buffer) => {
        if (kept < MAX_ANSWER_BYTES) chunks.push(chunk);
        kept += chunk.length;
      });
      response.once("end", settle(() => resolve({ status: response.statusCode ?? 0, message: answerMessage(Buffer.concat(chunks).toString("utf8")) })));
      response.once("error", fail);
    });
    const body = createReadStream(file);
    body.once("error", (err) => request.destroy(new TransferError(`cannot read ${file}: ${err.message}`, false)));
    body.pipe(request);
  });
}

/**
 * The message of an error answer: `{ error: { message } }` (the API's REST shape), `{ message }`, an S3 XML
 * `<Message>`, or else the text itself with its whitespace folded; at most 300 characters.
 */
export function answerMessage(body: string): string {
  const text = body.trim();
  let message: unknown;
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    message = typeof json.error === "object" && json.error !== null ? json.error.message : (json.message ?? json.error);
  } catch {
    message = /<Message>([\s\S]*?)<\/Message>/.exec(text)?.[1];
  }
  const shown = (typeof message === "string" ? message : text).replace(/\s+/g, " ").trim();
  return shown.length > 300 ? `${shown.slice(0, 300)}…` : shown;
}

/** A URL without its query string (signed URLs carry their signature there). */
export function redact(url: string): string {
  const q = url.indexOf("?");
  return q >= 0 ? `${url.slice(0, q)}?…` : url;
}
