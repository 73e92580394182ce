/**
 * Direct uploads on the S3 adapter, against s3rver behind the SigV4 gate: a presigned PUT stages the bytes under a key
 * of the upload's own, and adopt makes them the blob only once their size and sha256 are checked. s3rver keeps no
 * checksums, so adoption reads the staged bytes through once (a store that keeps them, S3 or MinIO, is trusted for its
 * sha256: the unit test of adoptStaged).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createS3BlobStore, type S3StoreOptions } from "../../storage/s3-store";
import { BlobMismatchError, type BlobStore } from "../../storage/blob-store";
import { s3rverStore } from "../s3rver-store";

jest.setTimeout(120_000);

let options: S3StoreOptions;
let close: () => Promise<void>;
let store: BlobStore;
beforeAll(async () => {
  ({ options, close } = await s3rverStore());
  store = createS3BlobStore(options);
});
afterAll(async () => close());

const bytesOf = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff));
const refOf = (bytes: Buffer) => ({ sha256: createHash("sha256").update(bytes).digest("hex"), sizeBytes: BigInt(bytes.length) });
const put = (url: string, body: Buffer) => fetch(url, { method: "PUT", body, headers: { "content-length": String(body.length) } });
const readAll = async (stream: Readable) => Buffer.concat(await stream.toArray());

describe("direct uploads to s3", () => {
  it("stages a presigned PUT and adopts it as the blob once checked; nothing is the blob before", async () => {
    const bytes = bytesOf(300_000, 1);
    const ref = refOf(bytes);
    const uploads = store.direct!.uploads!;
    const url = await uploads.uploadUrl("input-11111111-1111-4111-8111-111111111111", ref, 300);
    const parsed = new URL(url);
    expect(parsed.pathname).toBe(`/gx-blobs/blobs/staged/input-11111111-1111-4111-8111-111111111111.${ref.sha256}`);
    expect(parsed.searchParams.get("x-amz-checksum-sha256")).toBe(Buffer.from(ref.sha256, "hex").toString("base64"));

    await expect(uploads.adopt("input-11111111-1111-4111-8111-111111111111", ref)).resolves.toBe(false);
    expect((await put(url, bytes)).status).toBe(200);
    expect(await store.stat(ref.sha256)).toBeUndefined();

    await expect(uploads.adopt("input-11111111-1111-4111-8111-111111111111", ref)).resolves.toBe(true);
    expect(await store.stat(ref.sha256)).toEqual({ sizeBytes: 300_000n });
    expect((await readAll(await store.read(ref.sha256))).equals(bytes)).toBe(true);
    // the staged object is gone: adopting again finds nothing to adopt
    await expect(uploads.adopt("input-11111111-1111-4111-8111-111111111111", ref)).resolves.toBe(false);
  });

  it("deletes bytes that are not the declared ones, and the blob's key never holds them", async () => {
    const bytes = bytesOf(70_000, 2);
    const ref = refOf(bytes);
    const uploads = store.direct!.uploads!;
    const name = "output-22222222-2222-4222-8222-222222222222";
    const url = await uploads.uploadUrl(name, ref, 300);
    const altered = Buffer.from(bytes);
    altered[500] ^= 1;
    expect((await put(url, altered)).status).toBe(200);
    await expect(uploads.adopt(name, ref)).rejects.toThrow(BlobMismatchError);
    expect(await store.stat(ref.sha256)).toBeUndefined();
    await expect(uploads.adopt(name, ref)).resolves.toBe(false);

    expect((await put(url, bytes.subarray(0, 1000))).status).toBe(200);
    await expect(uploads.adopt(name, ref)).rejects.toThrow(/has 1000 bytes, not the declared 70000/);

    // the same URL is good for another try while it lives
    expect((await put(url, bytes)).status).toBe(200);
    await expect(uploads.adopt(name, ref)).resolves.toBe(true);
    expect((await readAll(await store.read(ref.sha256))).equals(bytes)).toBe(true);
  });

  it("refuses a URL whose signature or key was altered, or whose time is up (403), and stages nothing", async () => {
    const bytes = bytesOf(1000, 3);
    const ref = refOf(bytes);
    const uploads = store.direct!.uploads!;
    const name = "checkpoint-33333333-3333-4333-8333-333333333333";
    const url = new URL(await uploads.uploadUrl(name, ref, 300));
    const other = new URL(url);
    other.pathname = other.pathname.replace("staged/", "");
    expect((await put(other.toString(), bytes)).status).toBe(403);
    const tampered = new URL(url);
    tampered.searchParams.set("x-amz-checksum-sha256", Buffer.alloc(32).toString("base64"));
    expect((await put(tampered.toString(), bytes)).status).toBe(403);
    await expect(uploads.adopt(name, ref)).resolves.toBe(false);

    const soon = createS3BlobStore({ ...options });
    const expired = new URL(await soon.direct!.uploads!.uploadUrl(name, ref, 1));
    expired.searchParams.set("X-Amz-Date", "20200101T000000Z");
    expect((await put(expired.toString(), bytes)).status).toBe(403);
    await expect(uploads.adopt(name, ref)).resolves.toBe(false);
  });

  it("keeps the blob that is already stored, and adopts only an upload that sent its bytes", async () => {
    const bytes = bytesOf(5000, 4);
    const ref = refOf(bytes);
    await store.put(ref, Readable.from([bytes]));
    const uploads = store.direct!.uploads!;
    const name = "input-44444444-4444-4444-8444-444444444444";
    await expect(uploads.adopt(name, ref)).resolves.toBe(false);
    expect((await put(await uploads.uploadUrl(name, ref, 300), bytes)).status).toBe(200);
    await expect(uploads.adopt(name, ref)).resolves.toBe(true);
    expect((await readAll(await store.read(ref.sha256))).equals(bytes)).toBe(true);
  });

  it("has no direct uploads when they are turned off, and none for upload names that are not a transfer's", async () => {
    expect(createS3BlobStore({ ...options, directUploads: false }).direct!.uploads).toBeUndefined();
    const ref = refOf(bytesOf(10, 5));
    await expect(store.direct!.uploads!.uploadUrl("../x", ref, 300)).rejects.toThrow(/not an upload name/);
    await expect(store.direct!.uploads!.uploadUrl("input-1", { ...ref, sha256: "ZZ" }, 300)).rejects.toThrow(/not a blob key/);
  });
});
