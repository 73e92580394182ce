import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import { BlobMismatchError, type BlobRef } from "./blob-store";
import { partBytesFor } from "./s3-layout";

/** One object to write: the client, the bucket and key, and the part size a multipart upload prefers. */
export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  preferredPartBytes: number;
  /** Sends one request; maps its failure to the port's errors (the caller's `call`). */
  call<T>(action: string, send: () => Promise<T>): Promise<T>;
}

/**
 * Writes `body` as the object `target.key` only once it has been counted and hashed as `ref`, so no unverified byte is
 * ever readable under that key: a body of at most one part is read into memory, checked, then sent as one PutObject
 * (with its sha256 as `x-amz-checksum-sha256`, which the store verifies again); a bigger one goes as a multipart upload
 * whose parts are sent one at a time as they fill (memory: one part), completed only after the last byte matched, and
 * aborted on a mismatch or any failure (the store never shows an uncompleted upload under the key). Reading stops as
 * soon as the body passes `ref.sizeBytes`.
 */
export async function uploadVerified(target: UploadTarget, ref: BlobRef, body: Readable): Promise<void> {
  const partBytes = partBytesFor(ref.sizeBytes, target.preferredPartBytes);
  if (ref.sizeBytes <= BigInt(partBytes)) {
    const bytes = await readVerified(body, ref, Number(ref.sizeBytes));
    await target.call("store", () =>
      target.client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: "application/octet-stream",
          ChecksumSHA256: Buffer.from(ref.sha256, "hex").toString("base64"),
        }),
      ),
    );
    return;
  }
  await multipart(target, ref, body, partBytes);
}

/** Reads and checks all of `body` without storing it (for a blob already there). */
export async function consumeVerified(body: Readable, ref: BlobRef): Promise<void> {
  const hash = createHash("sha256");
  let seen = 0n;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    seen += BigInt(bytes.length);
    if (seen > ref.sizeBytes) throw tooLong(ref);
    hash.update(bytes);
  }
  check(ref, seen, hash);
}

async function multipart(target: UploadTarget, ref: BlobRef, body: Readable, partBytes: number): Promise<void> {
  const { client, bucket, key } = target;
  const created = await target.call("start uploading", () =>
    client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: "application/octet-stream", ChecksumAlgorithm: "CRC32" })),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`the object store started an upload of ${key} without an UploadId`);
  try {
    const hash = createHash("sha256");
    const parts: CompletedPart[] = [];
    let seen = 0n;
    for await (const part of fill(body, partBytes, ref)) {
      seen += BigInt(part.length);
      hash.update(part);
      const PartNumber = parts.length + 1;
      const sent = await target.call("store a part of", () =>
        client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: part, ContentLength: part.length, ChecksumAlgorithm: "CRC32" })),
      );
      parts.push({ PartNumber, ETag: sent.ETag, ...(sent.ChecksumCRC32 ? { ChecksumCRC32: sent.ChecksumCRC32 } : {}) });
    }
    check(ref, seen, hash);
    await target.call("complete", () => client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
  } catch (error) {
    // best effort: an upload left behind is never readable, and a bucket lifecycle rule (AbortIncompleteMultipartUpload) clears it
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/**
 * `body` in pieces of exactly `partBytes` (the last one shorter, none empty), copied into one buffer that is reused:
 * the consumer must be done with a piece (its request sent) before it asks for the next. Throws, and stops reading,
 * at the first chunk that takes the body past `ref.sizeBytes`.
 */
async function* fill(body: Readable, partBytes: number, ref: BlobRef): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(partBytes);
  let used = 0;
  let total = 0n;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += BigInt(bytes.length);
    if (total > ref.sizeBytes) throw tooLong(ref);
    while (bytes.length > 0) {
      const taken = bytes.copy(buffer, used, 0, Math.min(bytes.length, partBytes - used));
      used += taken;
      bytes = bytes.subarray(taken);
      if (used === partBytes) {
        yield buffer;
        used = 0;
      }
    }
  }
  if (used > 0) yield buffer.subarray(0, used);
}

/** All of a body that should be `ref` (at most `limit` bytes, a safe integer), checked. */
async function readVerified(body: Readable, ref: BlobRef, limit: number): Promise<Buffer> {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(limit);
  let used = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (used + bytes.length > limit) throw tooLong(ref);
    bytes.copy(buffer, used);
    used += bytes.length;
    hash.update(bytes);
  }
  check(ref, BigInt(used), hash);
  return buffer.subarray(0, used);
}

function check(ref: BlobRef, seen: bigint, hash: Hash): void {
  if (seen !== ref.sizeBytes) throw new BlobMismatchError(`blob ${ref.sha256}: the body has ${seen} bytes, not the declared ${ref.sizeBytes}; nothing was stored`);
  const actual = hash.digest("hex");
  if (actual !== ref.sha256) throw new BlobMismatchError(`blob ${ref.sha256}: the body's sha256 is ${actual}; nothing was stored`);
}

function tooLong(ref: BlobRef): BlobMismatchError {
  return new BlobMismatchError(`blob ${ref.sha256}: the body is longer than the declared ${ref.sizeBytes} bytes; nothing was stored`);
}
