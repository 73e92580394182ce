import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type CompletedPart, type S3Client } from "@aws-sdk/client-s3";
import { assertBlobKey, assertUploadName, BlobMismatchError, UploadOffsetError, type BlobRef, type ResumableUploads } from "./blob-store";
import { partBytesFor } from "./s3-layout";
import { UploadSlots } from "./upload-slots";

/** What the S3 store lends its resumable uploads. */
export interface S3UploadsContext {
  client: S3Client;
  bucket: string;
  /** The object key of a blob. */
  keyOf(sha256: string): string;
  /** The part size a multipart upload prefers (at least 5 MiB). */
  preferredPartBytes: number;
  /** Sends one request; maps its failure to the port's errors. */
  call<T>(action: string, sha256: string, send: () => Promise<T>): Promise<T>;
}

/** One upload in progress: its multipart upload, the parts stored, and the sha256 state of exactly their bytes. */
interface Staged {
  uploadId?: string;
  parts: CompletedPart[];
  stored: bigint;
  hash: Hash;
  partBytes: number;
}

/** Uploads in progress this process remembers; the oldest is aborted beyond this. */
const MAX_UPLOADS = 1000;

/**
 * Resumable uploads on S3: a real multipart upload on the blob's own key (never readable before it completes), each
 * part sent once it is full and kept by the store until the completion. What is stored is what the parts hold: the
 * bytes of a request that breaks off after the last whole part are not (the part fills in memory as the bytes arrive,
 * one part per request in flight), so the offset is always a part boundary and a resumed upload sends at most one part
 * again. The multipart upload's id, its parts and the sha256 state of their bytes live in this process's memory (S3
 * keeps no hash of an upload in progress): after an API restart, or at another instance, an upload starts over from
 * byte 0, and the bucket's AbortIncompleteMultipartUpload lifecycle rule clears the parts left behind.
 */
export function createS3Uploads(ctx: S3UploadsContext): ResumableUploads {
  const slots = new UploadSlots();
  const uploads = new Map<string, Staged>();
  const nameOf = (upload: string, ref: BlobRef) => {
    assertUploadName(upload);
    assertBlobKey(ref.sha256);
    return `${upload}.${ref.sha256}.${ref.sizeBytes}`;
  };
  const abort = (ref: BlobRef, staged: Staged) =>
    staged.uploadId
      ? ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: ctx.keyOf(ref.sha256), UploadId: staged.uploadId })).then(
          () => undefined,
          () => undefined,
        )
      : Promise.resolve();
  const remember = (name: string, ref: BlobRef, staged: Staged) => {
    uploads.delete(name);
    uploads.set(name, staged);
    if (uploads.size > MAX_UPLOADS) {
      const [oldest, left] = uploads.entries().next().value!;
      uploads.delete(oldest);
      void abort({ sha256: oldest.split(".")[1], sizeBytes: 0n }, left);
    }
  };

  return {
    async offset(upload, ref) {
      const name = nameOf(upload, ref);
      const release = await slots.take(upload, () => undefined);
      release();
      return uploads.get(name)?.stored ?? 0n;
    },

    async append(upload, ref, offset, body: Readable) {
      const name = nameOf(upload, ref);
      const release = await slots.take(upload, () => body.destroy());
      try {
        const staged = uploads.get(name) ?? { parts: [], stored: 0n, hash: createHash("sha256"), partBytes: partBytesFor(ref.sizeBytes, ctx.preferredPartBytes) };
        if (offset !== staged.stored) throw new UploadOffsetError(staged.stored);
        remember(name, ref, staged);
        const Key = ctx.keyOf(ref.sha256);
        const buffer = Buffer.allocUnsafe(Math.min(staged.partBytes, Number(ref.sizeBytes - staged.stored)));
        let used = 0;
        const storePart = async (part: Buffer) => {
          staged.uploadId ??= (
            await ctx.call("start uploading", ref.sha256, () =>
              ctx.client.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key, ContentType: "application/octet-stream", ChecksumAlgorithm: "CRC32" })),
            )
          ).UploadId;
          if (!staged.uploadId) throw new Error(`the object store started an upload of ${Key} without an UploadId`);
          const PartNumber = staged.parts.length + 1;
          const sent = await ctx.call("store a part of", ref.sha256, () =>
            ctx.client.send(new UploadPartCommand({ Bucket: ctx.bucket, Key, UploadId: staged.uploadId, PartNumber, Body: part, ContentLength: part.length, ChecksumAlgorithm: "CRC32" })),
          );
          staged.parts.push({ PartNumber, ETag: sent.ETag, ...(sent.ChecksumCRC32 ? { ChecksumCRC32: sent.ChecksumCRC32 } : {}) });
          staged.hash.update(part);
          staged.stored += BigInt(part.length);
        };
        const mismatch = async (message: string) => {
          uploads.delete(name);
          await abort(ref, staged);
          return new BlobMismatchError(`${message}; nothing was stored`);
        };
        for await (const piece of body as AsyncIterable<Buffer | string>) {
          let bytes = typeof piece === "string" ? Buffer.from(piece) : piece;
          if (staged.stored + BigInt(used + bytes.length) > ref.sizeBytes) throw await mismatch(`the body is longer than the declared ${ref.sizeBytes} bytes`);
          while (bytes.length > 0) {
            const taken = bytes.copy(buffer, used, 0, Math.min(bytes.length, staged.partBytes - used));
            used += taken;
            bytes = bytes.subarray(taken);
            // a full part is stored at once; the last one waits until its sha256 is checked
            if (used === staged.partBytes && staged.stored + BigInt(used) < ref.sizeBytes) {
              await storePart(buffer);
              used = 0;
            }
          }
        }
        if (staged.stored + BigInt(used) < ref.sizeBytes) return staged.stored;
        const last = buffer.subarray(0, used);
        const actual = staged.hash.copy().update(last).digest("hex");
        if (actual !== ref.sha256) throw await mismatch(`the uploaded bytes' sha256 is ${actual}; ${ref.sha256} was declared`);
        if (staged.parts.length === 0) {
          // a blob of one part: one verified PutObject
          await ctx.call("store", ref.sha256, () =>
            ctx.client.send(new PutObjectCommand({ Bucket: ctx.bucket, Key, Body: last, ContentLength: last.length, ContentType: "application/octet-stream", ChecksumSHA256: Buffer.from(ref.sha256, "hex").toString("base64") })),
          );
        } else {
          await storePart(last);
          await ctx.call("complete", ref.sha256, () =>
            ctx.client.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId: staged.uploadId, MultipartUpload: { Parts: staged.parts } })),
          );
        }
        uploads.delete(name);
        return ref.sizeBytes;
      } finally {
        release();
      }
    },
  };
}
