import type { Readable } from "node:stream";

/**
 * The blob-store port: where the bytes of inputs, outputs and checkpoints live, content-addressed by sha256.
 * Postgres keeps their records (owner, name, size, hash, retention), never their bytes. Two adapters: the
 * filesystem (the embedded default, `filesystem-store.ts`) and S3-compatible object storage (`s3-store.ts`).
 */
export interface BlobStore {
  readonly kind: "filesystem" | "s3";

  /**
   * Streams `body` into the store as the blob `ref.sha256`, counting and hashing as the bytes flow (memory does not
   * grow with the size). Nothing is kept when the body is longer or shorter than `ref.sizeBytes` or its sha256
   * differs ({@link BlobMismatchError}); once this resolves the blob is durable (fsynced, or acknowledged by the
   * object store). A blob already there is left as it is (same hash, same bytes); the body is still checked.
   */
  put(ref: BlobRef, body: Readable): Promise<void>;

  /** The stored size of a blob, or undefined when it is not there. */
  stat(sha256: string): Promise<{ sizeBytes: bigint } | undefined>;

  /**
   * The blob's bytes, or those of `range` (inclusive byte offsets, `end` within the blob). {@link BlobNotFoundError}
   * when it is not there.
   */
  read(sha256: string, range?: ByteRange): Promise<Readable>;

  /** Deletes a blob; deleting one that is not there is not an error. */
  delete(sha256: string): Promise<void>;

  /**
   * Signed URLs straight to the store (S3 presigned), so bytes go between agents, clients and the store without an
   * API process in between; undefined for stores the API serves itself (the filesystem).
   */
  readonly direct?: DirectUrls;

  /** Uploads written in several requests, each continuing where the stored bytes end (see {@link ResumableUploads}). */
  readonly resumable: ResumableUploads;
}

/**
 * Resumable uploads: the bytes of one blob sent in as many requests as it takes, each appending at the offset stored
 * so far. `upload` names the upload (its transfer: `<kind>-<id>`), so only the holder of that transfer's URL continues
 * it. Nothing is readable as the blob before the last byte arrived and the whole file's size and sha256 matched.
 * A newer request for the same upload supersedes an older one still in flight (its body is cut off first), so a
 * client that lost its connection can ask and continue at once. The staged bytes are kept until the upload completes,
 * is discarded, or is left untouched for a day.
 */
export interface ResumableUploads {
  /** The bytes of `upload` (for blob `ref`) stored so far: 0 when none. */
  offset(upload: string, ref: BlobRef): Promise<bigint>;
  /**
   * Appends `body` at `offset`, which must be {@link offset}'s answer ({@link UploadOffsetError} otherwise, nothing
   * written), and returns the new offset. A body that breaks off keeps what was stored of it. When the offset reaches
   * `ref.sizeBytes` the whole is checked and becomes the blob (durable once this resolves); a size or sha256 other than
   * `ref`'s drops the staged bytes ({@link BlobMismatchError}).
   */
  append(upload: string, ref: BlobRef, offset: bigint, body: Readable): Promise<bigint>;
}

/** An append at another offset than the stored one; `offset` is where the upload stands. Nothing was written. */
export class UploadOffsetError extends Error {
  constructor(readonly offset: bigint) {
    super(`the upload has ${offset} bytes stored; continue from there`);
    this.name = "UploadOffsetError";
  }
}

const UPLOAD_NAME = /^[a-z]{1,20}-[0-9a-z-]{1,80}$/;

/** Throws unless `upload` is a transfer's name (`<kind>-<id>`): it becomes part of a path or object key. */
export function assertUploadName(upload: string): void {
  if (!UPLOAD_NAME.test(upload)) throw new Error(`not an upload name: ${JSON.stringify(upload).slice(0, 80)}`);
}

/** A blob as its record names it. */
export interface BlobRef {
  /** 64 lowercase hex digits. */
  sha256: string;
  sizeBytes: bigint;
}

/** Inclusive byte offsets, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Presigned transfers of a store that serves them. */
export interface DirectUrls {
  /** A GET URL of the blob valid `ttlSeconds`, answering with `fileName` as the download's name; Range works. */
  downloadUrl(sha256: string, ttlSeconds: number, fileName: string): Promise<string>;
  /** Presigned uploads straight to the store; absent where they are turned off (`S3_DIRECT_UPLOADS=false`). */
  readonly uploads?: DirectUploads;
}

/**
 * Uploads that go straight to the store: a presigned PUT stages the bytes under a key of the upload's own, and
 * {@link DirectUploads.adopt} makes them the blob once their size and sha256 are checked. Nothing is readable as the
 * blob before that, and the staged object survives an API restart (the store keeps it, not a process).
 */
export interface DirectUploads {
  /** The largest blob one presigned PUT takes; bigger ones go through the API. */
  readonly maxBytes: bigint;
  /** A PUT URL for the bytes of `ref` as upload `upload` (a transfer's name), valid `ttlSeconds`. */
  uploadUrl(upload: string, ref: BlobRef, ttlSeconds: number): Promise<string>;
  /**
   * True once upload `upload`'s bytes are the blob `ref` (checked, then stored under the blob's key); false when
   * nothing has been uploaded to it. Bytes that are not `ref`'s are deleted: {@link BlobMismatchError}.
   */
  adopt(upload: string, ref: BlobRef): Promise<boolean>;
}

/** The body did not have the declared size or sha256; nothing was stored. Permanent. */
export class BlobMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BlobMismatchError";
  }
}

/** The blob is not in the store. */
export class BlobNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is not in the store`);
    this.name = "BlobNotFoundError";
  }
}

/** The store cannot take or give bytes now (down, unreachable, full, timed out): retry later; nothing was stored. */
export class BlobStoreUnavailableError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "BlobStoreUnavailableError";
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Throws unless `sha256` is 64 lowercase hex digits (the only blob keys there are, so no path can be smuggled in). */
export function assertBlobKey(sha256: string): void {
  if (!SHA256.test(sha256)) throw new Error(`not a blob key (64 lowercase hex digits): ${JSON.stringify(sha256).slice(0, 80)}`);
}
