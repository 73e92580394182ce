import type { Readable } from "node:stream";
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { assertBlobKey, assertUploadName, BlobMismatchError, BlobStoreUnavailableError, type BlobRef } from "./blob-store";
import { classifyS3Error, toBlobStoreError } from "./s3-errors";
import { consumeVerified } from "./s3-upload";

/** S3's largest object one PutObject (so one presigned PUT) or one CopyObject takes: 5 GiB. */
export const S3_MAX_SINGLE_PUT_BYTES = 5n * 1024n ** 3n;

/** The staged object of a direct upload, as a HEAD of it answers. */
export interface StagedHead {
  sizeBytes: bigint;
  /** The full object's sha256 the store computed and checked at upload (base64), when it keeps one. */
  checksumSha256?: string;
}

/** What {@link adoptStaged} does to the store; the S3 adapter's, or a test's. */
export interface StagedObjects {
  head(): Promise<StagedHead | undefined>;
  /** The staged bytes (for a store that keeps no sha256 of them). */
  read(): Promise<Readable>;
  blobExists(): Promise<boolean>;
  /** Server-side copy of the staged object to the blob's key (no byte through this process). */
  copyToBlob(): Promise<void>;
  deleteStaged(): Promise<void>;
}

/**
 * Makes a direct upload's staged object the blob `ref`, or says it is not there yet (false). Its size must be
 * `ref.sizeBytes`; its sha256 is the one the store checked at upload when the store keeps one (AWS S3 and MinIO do
 * for a PUT that carried `x-amz-checksum-sha256`, which the presigned URL signs), and otherwise it is read through
 * once and hashed here. Bytes that do not match are deleted ({@link BlobMismatchError}) and never reach the blob's
 * key; bytes that do are copied there by the store (unless the blob is already there) and the staged object is removed.
 * Only the uploader's own bytes count: a blob that is already stored is not adopted for an upload that sent nothing.
 */
export async function adoptStaged(objects: StagedObjects, ref: BlobRef): Promise<boolean> {
  const head = await objects.head();
  if (!head) return false;
  const refuse = async (why: string) => {
    await objects.deleteStaged();
    return new BlobMismatchError(`the uploaded object ${why}; it was deleted`);
  };
  if (head.sizeBytes !== ref.sizeBytes) throw await refuse(`has ${head.sizeBytes} bytes, not the declared ${ref.sizeBytes}`);
  const declared = Buffer.from(ref.sha256, "hex").toString("base64");
  if (head.checksumSha256 !== undefined && head.checksumSha256 !== declared) {
    throw await refuse(`has the sha256 ${Buffer.from(head.checksumSha256, "base64").toString("hex")}, not the declared ${ref.sha256}`);
  }
  if (head.checksumSha256 === undefined) {
    try {
      await consumeVerified(await objects.read(), ref);
    } catch (error) {
      if (error instanceof BlobMismatchError) throw await refuse(`does not match: ${error.message.replace(/; nothing was stored$/, "")}`);
      throw error;
    }
  }
  if (!(await objects.blobExists())) await objects.copyToBlob();
  await objects.deleteStaged();
  return true;
}

/** The S3 side of direct uploads: presigned PUTs to a staging key, and their adoption as blobs. */
export interface S3DirectContext {
  client: S3Client;
  /** The client whose endpoint agents and clients reach (it signs the URLs). */
  signer: S3Client;
  bucket: string;
  prefix: string;
  keyOf(sha256: string): string;
}

/** Where upload `upload` of `ref` is staged: `<prefix>staged/<upload>.<sha256>` (never a blob's key: those are `<prefix><2 hex>/...`). */
export function stagedObjectKey(prefix: string, upload: string, ref: BlobRef): string {
  assertUploadName(upload);
  assertBlobKey(ref.sha256);
  return `${prefix}staged/${upload}.${ref.sha256}`;
}

/**
 * A presigned PUT of `ref`'s bytes to its staging key, valid `ttlSeconds`. The declared sha256 is signed into the URL
 * as `x-amz-checksum-sha256`, so a store that checks checksums (S3, MinIO) refuses other bytes at once; the object
 * is only staged: nothing is readable under the blob's key before {@link adoptStaged}.
 */
export async function presignStagedPut(ctx: S3DirectContext, upload: string, ref: BlobRef, ttlSeconds: number): Promise<string> {
  if (ref.sizeBytes > S3_MAX_SINGLE_PUT_BYTES) throw new RangeError(`a direct upload is at most ${S3_MAX_SINGLE_PUT_BYTES} bytes: ${ref.sizeBytes}`);
  const command = new PutObjectCommand({
    Bucket: ctx.bucket,
    Key: stagedObjectKey(ctx.prefix, upload, ref),
    ChecksumSHA256: Buffer.from(ref.sha256, "hex").toString("base64"),
  });
  return getSignedUrl(ctx.signer, command, { expiresIn: ttlSeconds });
}

/** {@link adoptStaged} on the bucket. */
export async function adoptS3Upload(ctx: S3DirectContext, upload: string, ref: BlobRef): Promise<boolean> {
  const Bucket = ctx.bucket;
  const Key = stagedObjectKey(ctx.prefix, upload, ref);
  const blobKey = ctx.keyOf(ref.sha256);
  const call = async <T>(action: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      throw toBlobStoreError(error, action, ref.sha256);
    }
  };
  const headOf = async (key: string, checksums: boolean) => {
    try {
      return await ctx.client.send(new HeadObjectCommand({ Bucket, Key: key, ...(checksums ? { ChecksumMode: "ENABLED" as const } : {}) }));
    } catch (error) {
      if (classifyS3Error(error) === "not-found") return undefined;
      throw toBlobStoreError(error, "look up", ref.sha256);
    }
  };
  return adoptStaged(
    {
      async head() {
        const head = await headOf(Key, true);
        if (!head) return undefined;
        const checksum = head.ChecksumSHA256 && !head.ChecksumSHA256.includes("-") ? head.ChecksumSHA256 : undefined;
        return { sizeBytes: BigInt(head.ContentLength ?? 0), ...(checksum ? { checksumSha256: checksum } : {}) };
      },
      async read() {
        const got = await call("read the upload of", () => ctx.client.send(new GetObjectCommand({ Bucket, Key })));
        if (!got.Body) throw new BlobStoreUnavailableError(`the object store answered the upload of ${ref.sha256} without a body`);
        return got.Body as Readable;
      },
      blobExists: async () => (await headOf(blobKey, false)) !== undefined,
      copyToBlob: () =>
        call("store", () => ctx.client.send(new CopyObjectCommand({ Bucket, Key: blobKey, CopySource: `${Bucket}/${Key}`, ContentType: "application/octet-stream", MetadataDirective: "REPLACE" }))).then(() => undefined),
      deleteStaged: () => call("delete the upload of", () => ctx.client.send(new DeleteObjectCommand({ Bucket, Key }))).then(() => undefined),
    },
    ref,
  );
}
