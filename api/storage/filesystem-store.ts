import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { assertBlobKey, BlobMismatchError, BlobNotFoundError, BlobStoreUnavailableError, type BlobRef, type BlobStore, type ByteRange } from "./blob-store";
import { createFilesystemUploads } from "./filesystem-uploads";
import { writeHashed } from "./hashed-write";

export interface FilesystemStoreOptions {
  /** The data folder: `blobs/<first two hex digits>/<sha256>`, `tmp/` for writes in progress, `uploads/` for resumable ones. */
  root: string;
}

/** Errors of a disk that cannot take or give bytes now: full, over quota, failing, out of file handles. */
const PASSING = new Set(["ENOSPC", "EDQUOT", "EIO", "EMFILE", "ENFILE", "EAGAIN", "EBUSY"]);

/**
 * The embedded blob store: a data folder, content-addressed by sha256. A blob is written to `tmp/`, counted and hashed
 * as it streams, fsynced, and only then renamed into place (and the folder fsynced), so a blob under its name is
 * always whole and verified; a crash leaves at most a stray file in `tmp/`, which a later start clears once it is an hour old.
 * Resumable uploads stage their bytes in `uploads/` (see `filesystem-uploads.ts`).
 */
export function createFilesystemBlobStore(options: FilesystemStoreOptions): BlobStore {
  const root = path.resolve(options.root);
  const tmpDir = path.join(root, "tmp");
  const uploadsDir = path.join(root, "uploads");
  const fileOf = (sha256: string) => {
    assertBlobKey(sha256);
    return path.join(root, "blobs", sha256.slice(0, 2), sha256);
  };
  let ready: Promise<void> | undefined;
  const prepare = () =>
    (ready ??= (async () => {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      await clearStale(tmpDir, Date.now() - STALE_TMP_MS);
      await mkdir(uploadsDir, { recursive: true, mode: 0o700 });
      await clearStale(uploadsDir, Date.now() - STALE_UPLOAD_MS);
      await mkdir(path.join(root, "blobs"), { recursive: true, mode: 0o700 });
    })().catch((err) => {
      ready = undefined;
      throw unavailable(err, "prepare the data folder");
    }));

  /** Moves a whole, verified, fsynced file into place as blob `sha256` (or drops it when the blob is there). */
  const publish = async (file: string, sha256: string) => {
    const target = fileOf(sha256);
    if (await exists(target)) return void (await unlink(file));
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await rename(file, target);
    await syncDir(path.dirname(target));
  };

  return {
    kind: "filesystem",
    resumable: createFilesystemUploads({ dir: uploadsDir, prepare, publish, unavailable }),

    async put(ref: BlobRef, body: Readable): Promise<void> {
      fileOf(ref.sha256);
      await prepare();
      const tmp = path.join(tmpDir, `${randomBytes(12).toString("hex")}.part`);
      try {
        const hash = createHash("sha256");
        const count = { bytes: 0n };
        // flush: fsync before the stream closes; the write resolves once it closed
        await writeHashed(body, createWriteStream(tmp, { flags: "wx", mode: 0o600, flush: true }), hash, count, ref.sizeBytes);
        if (count.bytes !== ref.sizeBytes) throw new BlobMismatchError(`the body is ${count.bytes} bytes; ${ref.sizeBytes} were declared`);
        const actual = hash.digest("hex");
        if (actual !== ref.sha256) throw new BlobMismatchError(`the body's sha256 is ${actual}; ${ref.sha256} was declared`);
        await publish(tmp, ref.sha256);
      } catch (err) {
        throw err instanceof BlobMismatchError ? err : unavailable(err, "write a blob");
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    },

    async stat(sha256: string) {
      try {
        const s = await stat(fileOf(sha256));
        return { sizeBytes: BigInt(s.size) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw unavailable(err, "look a blob up");
      }
    },

    async read(sha256: string, range?: ByteRange): Promise<Readable> {
      const file = fileOf(sha256);
      try {
        await stat(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobNotFoundError(sha256);
        throw unavailable(err, "read a blob");
      }
      return createReadStream(file, { start: range?.start, end: range?.end });
    },

    async delete(sha256: string): Promise<void> {
      try {
        await unlink(fileOf(sha256));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw unavailable(err, "delete a blob");
      }
    },
  };
}

/** A file in tmp/ untouched this long is left from a crash (writes in progress touch theirs all the time). */
const STALE_TMP_MS = 60 * 60_000;

/** A resumable upload untouched this long is abandoned: its staged bytes are deleted at the next start. */
const STALE_UPLOAD_MS = 24 * 3600_000;

/** Deletes files of tmp/ last written before `beforeMs`: other processes sharing the folder may be writing the rest. */
async function clearStale(dir: string, beforeMs: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (s && s.mtimeMs < beforeMs) await rm(file, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** fsyncs a folder so a rename into it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function unavailable(err: unknown, what: string): Error {
  if (err instanceof BlobStoreUnavailableError || err instanceof BlobNotFoundError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && PASSING.has(code)) return new BlobStoreUnavailableError(`the data folder cannot ${what} now (${code})`, err);
  return err instanceof Error ? err : new Error(String(err));
}
