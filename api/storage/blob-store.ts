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
