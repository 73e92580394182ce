import { BlobMismatchError, BlobNotFoundError, BlobStoreUnavailableError } from "./blob-store";

/**
 * What an error of the S3 client means to the store's callers:
 * - `not-found`: the object is not there (NoSuchKey, or HeadObject's bodiless 404);
 * - `bad-range`: the range starts beyond the blob (416): the caller's mistake, permanent;
 * - `unavailable`: retry later: the network, a timeout, throttling, a 5xx, or a store that refuses this deployment's
 *   credentials or lacks its bucket (an operator must fix it; no request of the caller's can);
 * - `other`: anything else (a request this adapter should not have made): left as it is, to be masked and logged.
 */
export type S3Failure = "not-found" | "bad-range" | "unavailable" | "other";

/** Error names (S3 codes, SDK and socket error names) after which the same request may succeed later. */
const RETRYABLE_NAMES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "TimeoutError",
  "OperationAborted",
  // the deployment's credentials or bucket are wrong: the store is unusable until an operator fixes them
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "NoSuchBucket",
  "AllAccessDisabled",
  "AccountProblem",
  "ExpiredToken",
  "InvalidToken",
  "CredentialsProviderError",
]);

/** Socket and stream error codes of a store that is down, unreachable or cut off mid-transfer. */
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/**
 * The same codes in a message: the SDK's retry middleware turns an error that is not an `Error` of its own realm (a
 * socket error under jest's module sandbox, say) into `new Error("AWS SDK error wrapper for Error: connect ECONNREFUSED
 * ...")`, keeping only the text.
 */
const RETRYABLE_IN_MESSAGE = new RegExp(`\\b(${[...RETRYABLE_CODES].join("|")})\\b`);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

/** Classifies an error thrown by the S3 client or read from one of its response bodies. */
export function classifyS3Error(error: unknown): S3Failure {
  if (!error || typeof error !== "object") return "other";
  const e = error as SdkErrorShape;
  const name = typeof e.name === "string" ? e.name : "";
  const code = typeof e.Code === "string" ? e.Code : typeof e.code === "string" ? e.code : "";
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  if (name === "NoSuchBucket" || code === "NoSuchBucket") return "unavailable";
  if (name === "NoSuchKey" || code === "NoSuchKey" || name === "NotFound" || (status === 404 && name !== "NoSuchUpload")) return "not-found";
  if (name === "InvalidRange" || code === "InvalidRange" || status === 416) return "bad-range";
  if (RETRYABLE_NAMES.has(name) || RETRYABLE_NAMES.has(code) || RETRYABLE_CODES.has(code)) return "unavailable";
  if (status !== undefined && (status >= 500 || status === 429 || status === 408 || status === 403)) return "unavailable";
  if (e.$retryable || e.$fault === "server") return "unavailable";
  if (typeof e.message === "string" && RETRYABLE_IN_MESSAGE.test(e.message)) return "unavailable";
  if (e.cause && e.cause !== error) return classifyS3Error(e.cause) === "unavailable" ? "unavailable" : "other";
  return "other";
}

/**
 * The port's error for an S3 client error during `action` on `sha256`: the port's own errors pass through,
 * `unavailable` becomes {@link BlobStoreUnavailableError}, `not-found` {@link BlobNotFoundError}, `bad-range` a
 * RangeError; anything else is returned as it is.
 */
export function toBlobStoreError(error: unknown, action: string, sha256: string): unknown {
  if (error instanceof BlobMismatchError || error instanceof BlobNotFoundError || error instanceof BlobStoreUnavailableError) return error;
  switch (classifyS3Error(error)) {
    case "not-found":
      return new BlobNotFoundError(sha256);
    case "bad-range":
      return new RangeError(`blob ${sha256}: the range starts beyond its end`);
    case "unavailable":
      return new BlobStoreUnavailableError(`the object store could not ${action} blob ${sha256}: ${describe(error)}`, error);
    case "other":
      return error;
  }
}

function describe(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  const name = typeof e.name === "string" ? e.name : "Error";
  const code = typeof e.code === "string" && e.code !== name ? ` (${e.code})` : "";
  return `${name}${code}: ${typeof e.message === "string" ? e.message : String(error)}`.slice(0, 300);
}
