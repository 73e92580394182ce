import path from "node:path";
import type { Config } from "../config";
import type { BlobStore } from "../storage/blob-store";
import { createFilesystemBlobStore } from "../storage/filesystem-store";

/** The blob store the configuration names: the data folder (DATA_DIR, relative to the working folder) or S3. */
export function createBlobStore(config: Config): BlobStore {
  if (config.BLOB_STORE === "s3") throw new Error("BLOB_STORE=s3 is not available in this build");
  return createFilesystemBlobStore({ root: path.resolve(config.DATA_DIR) });
}
