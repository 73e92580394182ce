import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { backoffMs, sleep } from "./backoff";
import { redact, sendPut, TransferError, type PutAnswer } from "./http-put";
import { isResumableUrl, putResumable, RESUMABLE_MIN_BYTES } from "./resumable-put";
import { putDirect } from "./direct-put";

export { answerMessage, redact, TransferError, type PutAnswer } from "./http-put";

/** A file's sha256 (64 lowercase hex digits) and size in bytes. */
export interface FileDigest {
  sha256: string;
  sizeBytes: number;
}

/** Moves bytes to and from the signed URLs of the store. Injected so tests need no server. */
export interface Transfer {
  /**
   * Downloads `url` into `file` (mode 0600) and returns its digest; throws on a non-2xx answer. A download cut off
   * part-way is retried from where it stopped (`Range`), or from the start when the server ignores the range.
   */
  download(url: string, file: string): Promise<FileDigest>;
  /**
   * PUTs `file` to `url` as application/octet-stream and returns the HTTP status (after retries on 5xx and network
   * errors). With `directUrl` (a reservation's directUploadUrl) the bytes go straight to the store and `url` counts them.
   */
  upload(url: string, file: string, sizeBytes: number, directUrl?: string | null): Promise<number>;
  /**
   * One upload of `file` without retries: the status and the body's message. A file of at least 8 MiB to the API's
   * `/transfers/` URLs goes resumably (see `resumable-put.ts`): it continues where the bytes stored by an earlier,
   * broken try end. With `directUrl` the bytes go straight to the store and `url` counts them (`direct-put.ts`).
   * Throws a retryable {@link TransferError} on a network error or timeout; `signal` aborts it.
   */
  put(url: string, file: string, sizeBytes: number, signal?: AbortSignal, directUrl?: string | null): Promise<PutAnswer>;
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

    upload: (url, file, sizeBytes, directUrl) =>
      withRetries(async () => {
        const { status } = await put(url, file, sizeBytes, idleTimeoutMs, undefined, directUrl);
        if (status >= 500) throw new TransferError(`PUT ${redact(url)} answered ${status}`, true, status);
        return status;
      }),

    put: (url, file, sizeBytes, signal, directUrl) => put(url, file, sizeBytes, idleTimeoutMs, signal, directUrl),
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

async function put(url: string, file: string, sizeBytes: number, idleTimeoutMs: number, signal?: AbortSignal, directUrl?: string | null): Promise<PutAnswer> {
  if (directUrl) return putDirect(directUrl, url, file, sizeBytes, idleTimeoutMs, signal);
  if (sizeBytes >= RESUMABLE_MIN_BYTES && isResumableUrl(url)) return putResumable(url, file, sizeBytes, idleTimeoutMs, signal);
  const { status, message } = await sendPut(url, { file, start: 0, sizeBytes }, {}, idleTimeoutMs, signal);
  return { status, message };
}

