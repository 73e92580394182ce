import type { ExchangeClient } from "./client";
import { codeOfStatus, ExchangeError, isErrorCode } from "./errors";
import { CreateInputUploadDocument } from "./generated/graphql";
import { sha256Hex } from "./manifest";

/** How far an upload or download is. */
export interface TransferProgress {
  bytes: number;
  totalBytes: number;
}

/** Bytes to upload: a Blob or File (browsers), bytes, or a stream (Node: a file; give its size and sha256). */
export type UploadBody = Blob | Uint8Array | ReadableStream<Uint8Array>;

/** Options of {@link putBytes}. */
export interface PutOptions {
  onProgress?(progress: TransferProgress): void;
  signal?: AbortSignal;
  /** The fetch to send with when there is no XMLHttpRequest (default the global one). */
  fetch?: typeof fetch;
}

const CHUNK = 64 * 1024;

/** A stream of `body` that reports the bytes read from it (which fetch sends as it reads). */
function counted(body: UploadBody, totalBytes: number, onProgress?: (p: TransferProgress) => void): ReadableStream<Uint8Array> {
  let bytes = 0;
  const source: ReadableStream<Uint8Array> =
    body instanceof Uint8Array
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            for (let o = 0; o < body.length; o += CHUNK) controller.enqueue(body.subarray(o, o + CHUNK));
            controller.close();
          },
        })
      : body instanceof ReadableStream
        ? body
        : (body.stream() as ReadableStream<Uint8Array>);
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.length;
        controller.enqueue(chunk);
        onProgress?.({ bytes, totalBytes });
      },
    }),
  );
}

/** The error of a refused transfer: the API's `{ error: { code, message } }` when it sent one. */
async function refusal(status: number, text: string, what: string): Promise<ExchangeError> {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body.error && isErrorCode(body.error.code)) return new ExchangeError(body.error.code, String(body.error.message ?? body.error.code), { status, operation: what });
  } catch {
    // not JSON: the status says it
  }
  return new ExchangeError(codeOfStatus(status), `${what}: the server answered ${status}${text ? `: ${text.slice(0, 200)}` : ""}`, { status, operation: what });
}

/** The part of the browser's XMLHttpRequest an upload uses (declared here, so the core compiles without the DOM types). */
interface Xhr {
  open(method: string, url: string): void;
  send(body: unknown): void;
  abort(): void;
  upload: { onprogress: ((e: { loaded: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  status: number;
  responseText: string;
}

const XhrClass = (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest;

function putWithXhr(Xhr: new () => Xhr, url: string, body: Blob | Uint8Array, totalBytes: number, options: PutOptions): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new Xhr();
    xhr.open("PUT", url);
    xhr.upload.onprogress = (e) => options.onProgress?.({ bytes: e.loaded, totalBytes });
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new ExchangeError("NETWORK_ERROR", `the upload to ${new URL(url).host} failed`));
    xhr.onabort = () => reject(new ExchangeError("ABORTED", "the upload was aborted"));
    options.signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

/**
 * PUTs bytes to a signed URL (an input's, or a checkpoint's), reporting progress: through XMLHttpRequest where there
 * is one (browsers: upload events), else through fetch with a streamed body (Node). Throws {@link ExchangeError} with
 * the server's code when it refuses them (a size or sha256 other than declared: BAD_USER_INPUT; an expired URL:
 * FORBIDDEN).
 */
export async function putBytes(url: string, body: UploadBody, totalBytes: number, options: PutOptions = {}): Promise<{ status: number }> {
  let answer: { status: number; text: string };
  if (XhrClass && !(body instanceof ReadableStream)) {
    answer = await putWithXhr(XhrClass, url, body, totalBytes, options);
  } else {
    const fetchImpl = options.fetch ?? fetch;
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: "PUT",
        body: counted(body, totalBytes, options.onProgress),
        headers: { "content-type": "application/octet-stream" },
        signal: options.signal,
        duplex: "half",
      } as RequestInit);
    } catch (err) {
      if (options.signal?.aborted) throw new ExchangeError("ABORTED", "the upload was aborted", { cause: err });
      throw new ExchangeError("NETWORK_ERROR", `the upload to ${new URL(url).host} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    answer = { status: res.status, text: await res.text() };
  }
  if (answer.status < 200 || answer.status >= 300) throw await refusal(answer.status, answer.text, "upload");
  return { status: answer.status };
}

/** An input file to upload: its name (a relative path), its bytes, and, for a stream, its size and sha256. */
export interface InputFile {
  name: string;
  body: UploadBody;
  sizeBytes?: number;
  sha256?: string;
}

/** An uploaded input: name it in `submitJob(input: { inputs: [{ artifactId, path }] })`. */
export interface UploadedInput {
  artifactId: string;
  name: string;
  sizeBytes: string;
  sha256: string;
}

/**
 * Uploads one input file: reserves it (`createInputUpload` with its name, size and sha256), then PUTs the bytes to
 * the signed URL with progress. The sha256 of a Blob or bytes is computed when not given (WebCrypto: the bytes are
 * read whole; give it for large files); a stream needs both its size and sha256.
 */
export async function uploadInput(client: ExchangeClient, file: InputFile, options: Omit<PutOptions, "fetch"> = {}): Promise<UploadedInput> {
  let { sizeBytes, sha256 } = file;
  if (file.body instanceof ReadableStream) {
    if (sizeBytes === undefined || sha256 === undefined) throw new ExchangeError("BAD_USER_INPUT", `${file.name}: a stream needs its sizeBytes and sha256`);
  } else {
    sizeBytes ??= file.body instanceof Uint8Array ? file.body.length : file.body.size;
    sha256 ??= await sha256Hex(file.body instanceof Uint8Array ? file.body : await file.body.arrayBuffer());
  }
  const { createInputUpload } = await client.request(CreateInputUploadDocument, { input: { name: file.name, sizeBytes: String(sizeBytes), sha256 } }, { signal: options.signal });
  await putBytes(new URL(createInputUpload.uploadUrl, client.url).toString(), file.body, sizeBytes, { ...options, fetch: client.fetch });
  const { artifact } = createInputUpload;
  return { artifactId: artifact.id, name: artifact.name, sizeBytes: artifact.sizeBytes, sha256: artifact.sha256 };
}
