import type { ByteRange } from "./blob-store";

/** Where blobs go in a bucket, how big the parts of their uploads are, and which bytes of an answer a range keeps. Pure. */

const MIB = 1024 * 1024;

/** S3's smallest part (all but the last), its most parts in one upload, and its largest object. */
export const S3_MIN_PART_BYTES = 5 * MIB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_BYTES = 5n * 1024n ** 4n;

/** The part size an upload uses unless the blob is too big for 10,000 parts of it. */
export const DEFAULT_PART_BYTES = 16 * MIB;

const PREFIX = /^(?:[A-Za-z0-9._-]+\/)*$/;

/**
 * Throws unless `prefix` is empty or slash-separated segments of `[A-Za-z0-9._-]` ending in "/" (so a key never
 * starts with "/", holds "//", or escapes into a neighbour's names).
 */
export function assertKeyPrefix(prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new Error(`an S3 key prefix is empty or segments ending in "/" (e.g. "blobs/"): ${JSON.stringify(prefix).slice(0, 80)}`);
  }
}

/** The object key of blob `sha256` (already checked by `assertBlobKey`): `<prefix><sha256[0..2]>/<sha256>`. */
export function blobObjectKey(prefix: string, sha256: string): string {
  return `${prefix}${sha256.slice(0, 2)}/${sha256}`;
}

/**
 * The part size of a multipart upload of `sizeBytes`: `preferredPartBytes`, or for a blob that would need more than
 * 10,000 such parts the smallest whole number of MiB that fits it in 10,000. Memory of a put is about one part.
 * Throws a RangeError beyond S3's 5 TiB object limit, or for a preferred size under S3's 5 MiB minimum.
 */
export function partBytesFor(sizeBytes: bigint, preferredPartBytes = DEFAULT_PART_BYTES): number {
  if (preferredPartBytes < S3_MIN_PART_BYTES || !Number.isSafeInteger(preferredPartBytes)) {
    throw new RangeError(`a part is at least ${S3_MIN_PART_BYTES} bytes: ${preferredPartBytes}`);
  }
  if (sizeBytes < 0n || sizeBytes > S3_MAX_OBJECT_BYTES) throw new RangeError(`an S3 object is 0 to ${S3_MAX_OBJECT_BYTES} bytes: ${sizeBytes}`);
  const fitting = (sizeBytes + BigInt(S3_MAX_PARTS) - 1n) / BigInt(S3_MAX_PARTS);
  const fittingMib = Number((fitting + BigInt(MIB) - 1n) / BigInt(MIB)) * MIB;
  return Math.max(preferredPartBytes, fittingMib);
}

/** The `Range` header of inclusive byte offsets; throws unless `0 <= start <= end` are safe integers. */
export function rangeHeader(range: { start: number; end: number }): string {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`a byte range is 0 <= start <= end: ${start}-${end}`);
  }
  return `bytes=${start}-${end}`;
}

/**
 * What to drop and keep of a ranged GetObject's body so that exactly `range` is left (`end` cut at the blob's last
 * byte, as S3 does): a store may answer a wider range than asked (s3rver answers `bytes=0-0` with all of the object)
 * or, as HTTP allows, ignore the Range and send everything (then there is no Content-Range). Throws when the answer
 * does not cover the range.
 */
export function rangeTrim(range: ByteRange, contentRange: string | undefined, contentLength: number | undefined): { skipBytes: number; keepBytes: number } {
  if (contentRange === undefined) {
    const last = contentLength === undefined ? range.end : Math.min(range.end, contentLength - 1);
    if (last < range.start) throw new RangeError(`the range ${range.start}-${range.end} starts beyond the blob's ${contentLength} bytes`);
    return { skipBytes: range.start, keepBytes: last - range.start + 1 };
  }
  const served = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange.trim());
  const [from, to] = served ? [Number(served[1]), Number(served[2])] : [NaN, NaN];
  const last = Math.min(range.end, to);
  if (!served || from > range.start || last < range.start || (to < range.end && served[3] !== String(to + 1))) {
    throw new Error(`the object store answered the range ${range.start}-${range.end} with ${JSON.stringify(contentRange).slice(0, 80)}`);
  }
  return { skipBytes: range.start - from, keepBytes: last - range.start + 1 };
}
