import path from "node:path";
import type { Config } from "../config";
import type { BlobStore } from "../storage/blob-store";
import { createFilesystemBlobStore } from "../storage/filesystem-store";
import { createS3BlobStore } from "../storage/s3-store";

/** The blob store the configuration names: the data folder (DATA_DIR, relative to the working folder) or S3. */
export function createBlobStore(config: Config): BlobStore {
  if (config.BLOB_STORE === "s3") {
    return createS3BlobStore({
      endpoint: config.S3_ENDPOINT,
      publicEndpoint: config.S3_PUBLIC_ENDPOINT,
      region: config.S3_REGION,
      bucket: config.S3_BUCKET!,
      accessKeyId: config.S3_ACCESS_KEY_ID!,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY!,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      directUploads: config.S3_DIRECT_UPLOADS,
    });
  }
  return createFilesystemBlobStore({ root: path.resolve(config.DATA_DIR) });
}
