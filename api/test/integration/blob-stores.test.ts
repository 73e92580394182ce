/**
 * The S3 adapter against s3rver, an S3 in this process (bucket data in a temp folder), behind a front that checks
 * presigned URLs' SigV4 signatures as S3 and MinIO do (s3rver checks none). Compose runs MinIO instead.
 */
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { BlobStoreUnavailableError } from "../../storage/blob-store";
import { createS3BlobStore, type S3StoreOptions } from "../../storage/s3-store";
import { describeBlobStore, generated, refOf } from "../blob-store-behaviour";
import { s3rverStore } from "../s3rver-store";

jest.setTimeout(120_000);

/** A port that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describeBlobStore("s3 (s3rver)", async () => {
  const { options, close } = await s3rverStore();
  return { store: createS3BlobStore(options), cleanup: close };
});

describe("the s3 blob store, beyond the shared behaviour", () => {
  let options: S3StoreOptions;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ options, close } = await s3rverStore());
  });
  afterAll(async () => close());

  it("keeps blobs under its prefix: two prefixes in one bucket are two stores", async () => {
    const a = createS3BlobStore({ ...options, prefix: "a/" });
    const b = createS3BlobStore({ ...options, prefix: "nested/b/" });
    const ref = await refOf(1000, 21);
    await a.put(ref, generated(1000, 21));
    expect(await a.stat(ref.sha256)).toEqual({ sizeBytes: 1000n });
    expect(await b.stat(ref.sha256)).toBeUndefined();
    expect(() => createS3BlobStore({ ...options, prefix: "/abs/" })).toThrow(/prefix/);
    expect(() => createS3BlobStore({ ...options, prefix: "../up/" })).toThrow(/prefix/);
  });

  it("signs URLs for the public endpoint when one is set (the host is part of the signature)", async () => {
    const store = createS3BlobStore({ ...options, publicEndpoint: "http://blobs.example.test:9000" });
    const url = new URL(await store.direct!.downloadUrl("a".repeat(64), 300, "x.bin"));
    expect(url.origin).toBe("http://blobs.example.test:9000");
    expect(url.pathname).toBe(`/gx-blobs/blobs/aa/${"a".repeat(64)}`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("300");
  });

  it("answers BlobStoreUnavailableError (retryable) when the store is down or refuses the deployment's credentials, and for a missing bucket", async () => {
    const down = createS3BlobStore({ ...options, endpoint: `http://127.0.0.1:${await closedPort()}`, requestTimeoutMs: 2000 });
    const ref = await refOf(10, 22);
    await expect(down.stat(ref.sha256)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await expect(down.read(ref.sha256)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await expect(down.delete(ref.sha256)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await expect(down.put(ref, generated(10, 22))).rejects.toBeInstanceOf(BlobStoreUnavailableError);

    const stranger = createS3BlobStore({ ...options, accessKeyId: "NOT-S3RVER" });
    await expect(stranger.put(ref, generated(10, 22))).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    const noBucket = createS3BlobStore({ ...options, bucket: "no-such-bucket" });
    await expect(noBucket.read(ref.sha256)).rejects.toBeInstanceOf(BlobStoreUnavailableError);
  });
});
