import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { ensureBucket, type S3StoreOptions } from "../storage/s3-store";
import { signatureGate } from "./s3-signature-gate";

/** s3rver's one account: it knows no other key pair. */
export const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** s3rver in this process (its bucket in a temp folder) behind the SigV4 gate, with the bucket created. */
export async function s3rverStore(): Promise<{ options: S3StoreOptions; close: () => Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), "gx-s3rver-"));
  const s3 = new S3rver({ silent: true, directory });
  const server: Server = createServer(signatureGate(CREDENTIALS.secretAccessKey, s3.callback()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const options: S3StoreOptions = { endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", bucket: "gx-blobs", forcePathStyle: true, ...CREDENTIALS };
  // twice: the second finds the bucket there
  await ensureBucket(options);
  await ensureBucket(options);
  return {
    options,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

