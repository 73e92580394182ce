import { PassThrough, Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { assertBlobKey, BlobStoreUnavailableError, type BlobRef, type BlobStore, type ByteRange } from "./blob-store";
import { attachmentDisposition } from "./content-disposition";
import { classifyS3Error, toBlobStoreError } from "./s3-errors";
import { assertKeyPrefix, blobObjectKey, DEFAULT_PART_BYTES, rangeHeader, rangeTrim } from "./s3-layout";
import { consumeVerified, uploadVerified } from "./s3-upload";
import { createS3Uploads } from "./s3-uploads";
import { adoptS3Upload, presignStagedPut, S3_MAX_SINGLE_PUT_BYTES } from "./s3-direct";

/** An S3-compatible bucket (AWS S3, MinIO, ...) and how to reach it. */
export interface S3StoreOptions {
  /** The store's URL (`http://minio:9000`); unset for AWS S3 itself. */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint>/<key>`: true for MinIO and most self-hosted stores. */
  forcePathStyle: boolean;
  /** Where blobs go in the bucket: empty or segments ending in "/"; default "blobs/". */
  prefix?: string;
  /** How long a connection may take to open, or a request sit with no byte moving either way; default 30,000 ms. */
  requestTimeoutMs?: number;
  /**
   * The endpoint that agents and clients reach, for presigned URLs (a signature covers the host), when it differs from
   * `endpoint` (compose: the API reaches `http://minio:9000`, a browser `http://localhost:9000`); default `endpoint`.
   */
  publicEndpoint?: string;
  /** The part size of multipart uploads, at least 5 MiB; default 16 MiB. A put holds about one part in memory. */
  partBytes?: number;
  /** Presigned PUTs straight to the store for blobs up to 5 GiB (default true); false sends every upload through the API. */
  directUploads?: boolean;
}

/** S3's longest presigned URL lifetime (SigV4): 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The blob store on S3-compatible object storage: blob `h` is the object `<prefix><h[0..2]>/<h>`. A put becomes
 * readable under its key only once its bytes matched the declared size and sha256 (see `uploadVerified`); failures of
 * the store (network, timeouts, throttling, 5xx, refused credentials, a missing bucket) are
 * {@link BlobStoreUnavailableError}, after the client's own retries (3 attempts in all).
 */
export function createS3BlobStore(options: S3StoreOptions): BlobStore {
  const prefix = options.prefix ?? "blobs/";
  assertKeyPrefix(prefix);
  const client = s3Client(options, options.endpoint);
  const signer = options.publicEndpoint ? s3Client(options, options.publicEndpoint) : client;
  const Bucket = options.bucket;
  const keyOf = (sha256: string) => {
    assertBlobKey(sha256);
    return blobObjectKey(prefix, sha256);
  };
  const direct = { client, signer, bucket: Bucket, prefix, keyOf };
  const caller =
    (sha256: string) =>
    async <T>(action: string, send: () => Promise<T>): Promise<T> => {
      try {
        return await send();
      } catch (error) {
        throw toBlobStoreError(error, action, sha256);
      }
    };

  const stat = async (sha256: string): Promise<{ sizeBytes: bigint } | undefined> => {
    const Key = keyOf(sha256);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket, Key }));
      return { sizeBytes: BigInt(head.ContentLength ?? 0) };
    } catch (error) {
      if (classifyS3Error(error) === "not-found") return undefined;
      throw toBlobStoreError(error, "look up", sha256);
    }
  };

  return {
    kind: "s3",
    stat,
    resumable: createS3Uploads({ client, bucket: Bucket, keyOf, preferredPartBytes: options.partBytes ?? DEFAULT_PART_BYTES, call: (action, sha256, send) => caller(sha256)(action, send) }),

    async put(ref: BlobRef, body: Readable): Promise<void> {
      const Key = keyOf(ref.sha256);
      if (await stat(ref.sha256)) return consumeVerified(body, ref);
      await uploadVerified({ client, bucket: Bucket, key: Key, preferredPartBytes: options.partBytes ?? DEFAULT_PART_BYTES, call: caller(ref.sha256) }, ref, body);
    },

    async read(sha256: string, range?: ByteRange): Promise<Readable> {
      const Key = keyOf(sha256);
      const Range = range ? rangeHeader(range) : undefined;
      const got = await caller(sha256)("read", () => client.send(new GetObjectCommand({ Bucket, Key, Range })));
      if (!(got.Body instanceof Readable)) throw new BlobStoreUnavailableError(`the object store answered blob ${sha256} without a body`);
      const body = guarded(got.Body, sha256);
      if (!range) return body;
      const { skipBytes, keepBytes } = rangeTrim(range, got.ContentRange, got.ContentLength);
      return skipBytes === 0 && keepBytes === got.ContentLength ? body : Readable.from(sliced(body, skipBytes, keepBytes), { objectMode: false });
    },

    async delete(sha256: string): Promise<void> {
      const Key = keyOf(sha256);
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key }));
      } catch (error) {
        if (classifyS3Error(error) !== "not-found") throw toBlobStoreError(error, "delete", sha256);
      }
    },

    direct: {
      async downloadUrl(sha256: string, ttlSeconds: number, fileName: string): Promise<string> {
        const Key = keyOf(sha256);
        presignSeconds(ttlSeconds);
        const command = new GetObjectCommand({
          Bucket,
          Key,
          ResponseContentDisposition: attachmentDisposition(fileName),
          ResponseContentType: "application/octet-stream",
        });
        return getSignedUrl(signer, command, { expiresIn: ttlSeconds });
      },
      ...(options.directUploads === false
        ? {}
        : {
            uploads: {
              maxBytes: S3_MAX_SINGLE_PUT_BYTES,
              uploadUrl: (upload: string, ref: BlobRef, ttlSeconds: number) => presignStagedPut(direct, upload, ref, presignSeconds(ttlSeconds)),
              adopt: (upload: string, ref: BlobRef) => adoptS3Upload(direct, upload, ref),
            },
          }),
    },
  };
}

/** `ttlSeconds` when a presigned URL may live that long (1 second to 7 days); a RangeError otherwise. */
function presignSeconds(ttlSeconds: number): number {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`a presigned URL lives 1 to ${MAX_PRESIGN_SECONDS} seconds: ${ttlSeconds}`);
  }
  return ttlSeconds;
}

/** Creates the store's bucket unless it is there (for development and tests; production buckets are provisioned). */
export async function ensureBucket(options: S3StoreOptions): Promise<void> {
  const client = s3Client(options, options.endpoint);
  const Bucket = options.bucket;
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket }));
      return;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error;
    }
    const where = options.region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: options.region as BucketLocationConstraint } };
    await client.send(new CreateBucketCommand({ Bucket, ...where })).catch((error: unknown) => {
      if ((error as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw error;
    });
  } catch (error) {
    if (classifyS3Error(error) === "unavailable") throw new BlobStoreUnavailableError(`the object store could not create bucket ${Bucket}: ${(error as Error).message}`, error);
    throw error;
  } finally {
    client.destroy();
  }
}

function s3Client(options: S3StoreOptions, endpoint: string | undefined): S3Client {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    maxAttempts: 3,
    requestHandler: { connectionTimeout: timeoutMs, socketTimeout: timeoutMs },
  });
}

/** `source` with its errors as the port's (a connection cut mid-body is unavailable); destroying it frees the socket. */
function guarded(source: Readable, sha256: string): Readable {
  const out = new PassThrough();
  source.on("error", (error) => out.destroy(toBlobStoreError(error, "read", sha256) as Error));
  out.on("close", () => source.destroy());
  source.pipe(out);
  return out;
}

/** `keepBytes` of `source` after its first `skipBytes`; stops reading (and frees the socket) once they are through. */
async function* sliced(source: Readable, skipBytes: number, keepBytes: number): AsyncGenerator<Buffer> {
  let skip = skipBytes;
  let keep = keepBytes;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const from = Math.min(skip, chunk.length);
    skip -= from;
    const piece = chunk.subarray(from, from + keep);
    keep -= piece.length;
    if (piece.length > 0) yield piece;
    if (keep === 0) return;
  }
  throw new BlobStoreUnavailableError(`the object store's answer ended ${keep} bytes short of the range`);
}
