import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { assertBlobKey, assertUploadName, BlobMismatchError, UploadOffsetError, type BlobRef, type ResumableUploads } from "./blob-store";
import { writeHashed } from "./hashed-write";
import { UploadSlots } from "./upload-slots";

/** What the filesystem store lends its resumable uploads. */
export interface FilesystemUploadsContext {
  /** The folder of staged uploads (`<data>/uploads`). */
  dir: string;
  /** Makes the data folder's folders (once). */
  prepare(): Promise<void>;
  /** Moves a whole, verified, fsynced file into place as a blob. */
  publish(file: string, sha256: string): Promise<void>;
  /** The port's error for a failure of the disk. */
  unavailable(err: unknown, what: string): Error;
}

/** Hash states kept between the requests of one upload (a few hundred bytes each); the oldest goes beyond this. */
const MAX_HASH_STATES = 1000;

/**
 * Resumable uploads in the data folder: upload `u` of blob `ref` is staged in `uploads/<u>.<sha256>.<size>.part`
 * (so a transfer reserved again with other bytes starts afresh), each append written at the file's end and fdatasynced
 * before it answers, so an offset once answered survives a crash. The sha256 goes on across requests: the hash state
 * of the bytes staged so far stays in memory while the process lives; after a restart (or when the state was dropped
 * because a write failed part-way) the staged bytes are hashed again from the disk before the next append. At the last
 * byte the whole is checked and renamed into `blobs/`; a mismatch deletes the staged file.
 */
export function createFilesystemUploads(ctx: FilesystemUploadsContext): ResumableUploads {
  const slots = new UploadSlots();
  const hashes = new Map<string, { hash: Hash; bytes: bigint }>();
  const stagedOf = (upload: string, ref: BlobRef) => {
    assertUploadName(upload);
    assertBlobKey(ref.sha256);
    return path.join(ctx.dir, `${upload}.${ref.sha256}.${ref.sizeBytes}.part`);
  };
  const keepHash = (file: string, state: { hash: Hash; bytes: bigint }) => {
    hashes.delete(file);
    hashes.set(file, state);
    if (hashes.size > MAX_HASH_STATES) hashes.delete(hashes.keys().next().value!);
  };

  return {
    async offset(upload, ref) {
      const file = stagedOf(upload, ref);
      const release = await slots.take(upload, () => undefined);
      try {
        await ctx.prepare();
        return await sizeOf(file);
      } catch (err) {
        throw ctx.unavailable(err, "look an upload up");
      } finally {
        release();
      }
    },

    async append(upload, ref, offset, body: Readable) {
      const file = stagedOf(upload, ref);
      const release = await slots.take(upload, () => body.destroy());
      try {
        await ctx.prepare();
        const stored = await sizeOf(file);
        if (offset !== stored) throw new UploadOffsetError(stored);
        let state = hashes.get(file);
        hashes.delete(file);
        if (!state || state.bytes !== stored) state = { hash: await hashOf(file, stored), bytes: stored };
        const count = { bytes: stored };
        try {
          const out = createWriteStream(file, { flags: stored === 0n ? "w" : "r+", start: Number(stored), mode: 0o600, flush: true });
          await writeHashed(body, out, state.hash, count, ref.sizeBytes);
        } catch (err) {
          if (err instanceof BlobMismatchError) {
            await unlink(file).catch(() => undefined);
            throw err;
          }
          // what reached the file stays; its hash goes on next time unless the file holds other than what was hashed
          if ((await sizeOf(file).catch(() => -1n)) === count.bytes) keepHash(file, { hash: state.hash, bytes: count.bytes });
          throw err;
        }
        if (count.bytes < ref.sizeBytes) {
          keepHash(file, { hash: state.hash, bytes: count.bytes });
          return count.bytes;
        }
        const actual = state.hash.digest("hex");
        if (actual !== ref.sha256) {
          await unlink(file).catch(() => undefined);
          throw new BlobMismatchError(`the uploaded bytes' sha256 is ${actual}; ${ref.sha256} was declared; nothing was stored`);
        }
        await ctx.publish(file, ref.sha256);
        return count.bytes;
      } catch (err) {
        throw err instanceof BlobMismatchError || err instanceof UploadOffsetError ? err : ctx.unavailable(err, "write an upload");
      } finally {
        release();
      }
    },
  };
}

/** A staged file's size, fdatasynced first (what is answered as stored must be on the disk); 0 when there is none. */
async function sizeOf(file: string): Promise<bigint> {
  let handle;
  try {
    handle = await open(file, "r+");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0n;
    throw err;
  }
  try {
    await handle.datasync();
    return BigInt((await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/** The hash state of a staged file's first `bytes` bytes, read again from the disk. */
async function hashOf(file: string, bytes: bigint): Promise<Hash> {
  const hash = createHash("sha256");
  if (bytes === 0n) return hash;
  for await (const chunk of createReadStream(file, { start: 0, end: Number(bytes) - 1 })) hash.update(chunk as Buffer);
  return hash;
}

