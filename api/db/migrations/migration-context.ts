import type { BlobStore } from "../../storage/blob-store";

/**
 * What a migration that moves bytes needs beyond SQL: the blob store, set by the entry point that runs the
 * migrations (system start, `npm run migrate`, the tests' template) before it runs them.
 */
let blobStore: BlobStore | undefined;

export function setMigrationBlobStore(store: BlobStore | undefined): void {
  blobStore = store;
}

export function migrationBlobStore(): BlobStore | undefined {
  return blobStore;
}
