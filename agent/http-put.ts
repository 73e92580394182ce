import { createReadStream } from "node:fs";
import http from "node:http";
import https from "node:https";

/** What a single PUT got back: the HTTP status and the body's message (up to 300 characters). */
export interface PutAnswer {
  status: number;
  message: string;
  /** For a resumable upload: the bytes the store already had when the last request started (not sent again). */
  resumedFrom?: number;
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

const MAX_ANSWER_BYTES = 16 * 1024;

/** One PUT's answer with the headers a resumable upload reads. */
export interface SentAnswer extends PutAnswer {
  headers: http.IncomingHttpHeaders;
}

/** A PUT of `sizeBytes` of `file` from byte `start` (none: an empty body), with `headers` beside the content type and length. */
export function sendPut(
  url: string,
  body: { file: string; start: number; sizeBytes: number } | undefined,
  headers: Record<string, string>,
  idleTimeoutMs: number,
  signal?: AbortSignal,
): Promise<SentAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === "https:" ? https : target.protocol === "http:" ? http : null;
    if (!lib) return reject(new TransferError(`cannot PUT to ${target.protocol} URLs`, false));
    if (signal?.aborted) return reject(new TransferError(`PUT ${redact(url)} aborted`, false));
    const request = lib.request(target, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(body?.sizeBytes ?? 0), ...headers },
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
      response.once(
        "end",
        settle(() => resolve({ status: response.statusCode ?? 0, message: answerMessage(Buffer.concat(chunks).toString("utf8")), headers: response.headers })),
      );
      response.once("error", fail);
    });
    if (!body || body.sizeBytes === 0) return void request.end();
    const stream = createReadStream(body.file, { start: body.start, end: body.start + body.sizeBytes - 1 });
    stream.once("error", (err) => request.destroy(new TransferError(`cannot read ${body.file}: ${err.message}`, false)));
    stream.pipe(request);
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
