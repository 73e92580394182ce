import type { Hash } from "node:crypto";
import { fdatasync, type WriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobMismatchError } from "./blob-store";

/** How often a write in progress asks the disk to write back what it has. */
const SYNC_EVERY_BYTES = 32n * 1024n * 1024n;

/**
 * Streams `body` into `out`, hashing and counting each chunk before it is written: `count.bytes` goes up from where
 * it stood (an append's offset) and the body is refused ({@link BlobMismatchError}) as soon as it would pass `limit`.
 * The disk writes back as the bytes arrive (a datasync every 32 MiB, one at a time on libuv's pool), so the fsync
 * before an acknowledgement has little left to do. Resolves once `out` is closed (fsynced when it was opened with
 * `flush: true`). On failure `count.bytes` may be ahead of what reached the file: the caller compares with the file.
 */
export async function writeHashed(body: Readable, out: WriteStream, hash: Hash, count: { bytes: bigint }, limit: bigint): Promise<void> {
  let synced = count.bytes;
  let syncing: Promise<void> | undefined;
  const syncSoFar = () => {
    // the stream's descriptor, once it is open (node's WriteStream has it; its types do not say so)
    const fd = (out as unknown as { fd: number | null }).fd;
    if (syncing || typeof fd !== "number") return;
    syncing = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).finally(() => (syncing = undefined));
  };
  await pipeline(
    body,
    async function* (source: AsyncIterable<Buffer | string>) {
      for await (const piece of source) {
        const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
        if (count.bytes + BigInt(chunk.length) > limit) throw new BlobMismatchError(`the body is longer than the declared ${limit} bytes`);
        count.bytes += BigInt(chunk.length);
        hash.update(chunk);
        yield chunk;
        if (count.bytes - synced >= SYNC_EVERY_BYTES) {
          synced = count.bytes;
          syncSoFar();
        }
      }
      await syncing;
    },
    out,
  );
}
