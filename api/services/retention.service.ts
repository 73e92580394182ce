import type { DataSource } from "typeorm";
import { deleteBlobRow, lockOrphanBlobs, releaseExpired, type RetentionRules } from "../db/repositories/retention.repository";
import type { BlobStore } from "../storage/blob-store";

/** Blobs unreferenced for less than this are left alone (an upload's reservation touches its blob). */
const BLOB_GRACE_MS = 24 * 3600_000;

/**
 * The retention sweep: releases records whose bytes are no longer needed (outputs and logs past the retention after
 * their job ended, inputs and checkpoints of ended jobs, checkpoints older than the newest few), then deletes the
 * blobs no live record names any more, and nothing else.
 */
export class RetentionService {
  constructor(
    private readonly db: DataSource,
    private readonly store: BlobStore,
    private readonly rules: RetentionRules,
  ) {}

  async sweep(now = new Date(), blobGraceMs = BLOB_GRACE_MS): Promise<{ released: Record<string, number>; blobsDeleted: number }> {
    const released = await releaseExpired(this.db, this.rules, now);
    let blobsDeleted = 0;
    for (;;) {
      const deleted = await this.db.transaction(async (tx) => {
        const orphans = await lockOrphanBlobs(tx, new Date(now.getTime() - blobGraceMs), 100);
        for (const sha256 of orphans) {
          // the bytes first, under the row's lock: a new reservation of this blob waits, then finds it gone and writes it again
          await this.store.delete(sha256);
          await deleteBlobRow(tx, sha256);
        }
        return orphans.length;
      });
      blobsDeleted += deleted;
      if (deleted < 100) break;
    }
    return { released, blobsDeleted };
  }
}
