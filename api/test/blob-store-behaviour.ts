import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { BlobMismatchError, BlobNotFoundError, type BlobStore } from "../storage/blob-store";
import { generated, pulled, refOf, sha256Of } from "./generated-bytes";
import { describeResumableUploads } from "./resumable-behaviour";

export { generated, pulled, refOf, sha256Of } from "./generated-bytes";

const MIB = 1024 * 1024;

/**
 * What every blob-store adapter does, run against a real store: `make` gives a fresh, empty store and its clean-up.
 * Bodies are generated as they are read (never one buffer), so the big ones also show what a put holds in memory.
 */
export function describeBlobStore(name: string, make: () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>): void {
  describe(`the ${name} blob store`, () => {
    let store: BlobStore;
    let cleanup: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ store, cleanup } = await make());
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it("gives back what was put: the sha256 of the bytes read is the ref's, stat has its size", async () => {
      const ref = await refOf(5000, 1);
      await store.put(ref, generated(5000, 1));
      expect(await sha256Of(await store.read(ref.sha256))).toBe(ref.sha256);
      expect(await store.stat(ref.sha256)).toEqual({ sizeBytes: 5000n });
    });

    it.each([
      ["shorter than declared", { sizeBytes: 4000, seed: 2 }, { sizeBytes: 4001n }],
      ["longer than declared", { sizeBytes: 4000, seed: 3 }, { sizeBytes: 3999n }],
      ["of another sha256", { sizeBytes: 4000, seed: 4 }, { sha256: "ab".repeat(32) }],
    ])("refuses a body %s (BlobMismatchError) and keeps nothing under the key", async (_what, body, wrong) => {
      const ref = { ...(await refOf(body.sizeBytes, body.seed)), ...wrong };
      await expect(store.put(ref, generated(body.sizeBytes, body.seed))).rejects.toBeInstanceOf(BlobMismatchError);
      expect(await store.stat(ref.sha256)).toBeUndefined();
      await expect(store.read(ref.sha256)).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it("refuses a big body with a wrong sha256 (a multipart upload for S3) and keeps nothing", async () => {
      const size = 20 * MIB;
      const ref = { sha256: "cd".repeat(32), sizeBytes: BigInt(size) };
      await expect(store.put(ref, generated(size, 5))).rejects.toBeInstanceOf(BlobMismatchError);
      expect(await store.stat(ref.sha256)).toBeUndefined();
    });

    it("stops reading a body soon after it passes the declared size, and keeps nothing", async () => {
      const declared = 6 * MIB;
      const ref = { sha256: "ef".repeat(32), sizeBytes: BigInt(declared) };
      const body = generated(40 * MIB, 6);
      await expect(store.put(ref, body)).rejects.toBeInstanceOf(BlobMismatchError);
      expect(pulled(body)).toBeLessThanOrEqual(declared + 2 * MIB);
      expect(await store.stat(ref.sha256)).toBeUndefined();
    });

    it("takes the same blob twice; a wrong body for a blob already there is refused and the blob stays", async () => {
      const ref = await refOf(3000, 7);
      await store.put(ref, generated(3000, 7));
      await store.put(ref, generated(3000, 7));
      await expect(store.put(ref, generated(3000, 8))).rejects.toBeInstanceOf(BlobMismatchError);
      await expect(store.put(ref, generated(2999, 7))).rejects.toBeInstanceOf(BlobMismatchError);
      expect(await sha256Of(await store.read(ref.sha256))).toBe(ref.sha256);
    });

    it("reads exactly the bytes of a range: the first byte, a middle stretch, the last byte, the whole", async () => {
      const size = 10_000;
      const bytes = await bytesOf(generated(size, 9));
      const ref = await refOf(size, 9);
      await store.put(ref, generated(size, 9));
      for (const [start, end] of [
        [0, 0],
        [1234, 5678],
        [size - 1, size - 1],
        [0, size - 1],
      ]) {
        expect(await bytesOf(await store.read(ref.sha256, { start, end }))).toEqual(bytes.subarray(start, end + 1));
      }
    });

    it("answers a blob that is not there: stat undefined, read BlobNotFoundError, delete fine", async () => {
      const missing = "0".repeat(64);
      expect(await store.stat(missing)).toBeUndefined();
      await expect(store.read(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.read(missing, { start: 0, end: 0 })).rejects.toBeInstanceOf(BlobNotFoundError);
      await store.delete(missing);
    });

    it("deletes a blob (then stat is undefined and read BlobNotFoundError); deleting it again is fine", async () => {
      const ref = await refOf(100, 10);
      await store.put(ref, generated(100, 10));
      await store.delete(ref.sha256);
      expect(await store.stat(ref.sha256)).toBeUndefined();
      await expect(store.read(ref.sha256)).rejects.toBeInstanceOf(BlobNotFoundError);
      await store.delete(ref.sha256);
    });

    it("stores a 0-byte blob", async () => {
      const ref = await refOf(0, 11);
      expect(ref.sha256).toBe(createHash("sha256").digest("hex"));
      await store.put(ref, generated(0, 11));
      expect(await store.stat(ref.sha256)).toEqual({ sizeBytes: 0n });
      expect((await bytesOf(await store.read(ref.sha256))).length).toBe(0);
    });

    it.each(["../x", "AB".repeat(32), "a".repeat(63), "a".repeat(65), `${"a".repeat(62)}/x`, `${"a".repeat(63)}\n`])(
      "refuses the key %j before touching the store (nor the body)",
      async (bad) => {
        const body = generated(10, 12);
        await expect(store.put({ sha256: bad, sizeBytes: 10n }, body)).rejects.toThrow(/not a blob key/);
        expect(pulled(body)).toBe(0);
        await expect(store.stat(bad)).rejects.toThrow(/not a blob key/);
        await expect(store.read(bad)).rejects.toThrow(/not a blob key/);
        await expect(store.delete(bad)).rejects.toThrow(/not a blob key/);
        if (store.direct) await expect(store.direct.downloadUrl(bad, 60, "x")).rejects.toThrow(/not a blob key/);
      },
    );

    it("round-trips a 40 MiB streamed body (a multipart upload for S3) holding less than the body in memory", async () => {
      const size = 40 * MIB;
      const ref = await refOf(size, 13);
      const put = await peakRssGrowth(() => store.put(ref, generated(size, 13)));
      const read = await peakRssGrowth(async () => sha256Of(await store.read(ref.sha256)));
      expect(read.result).toBe(ref.sha256);
      expect(await store.stat(ref.sha256)).toEqual({ sizeBytes: BigInt(size) });
      process.stdout.write(`${name} blob store, 40 MiB round trip: peak RSS growth ${mib(put.growthBytes)} MiB on put, ${mib(read.growthBytes)} MiB on read\n`);
      expect(put.growthBytes).toBeLessThan(size);
      expect(read.growthBytes).toBeLessThan(size);
    });

    it("signs download URLs when it serves them (S3 does, the filesystem does not)", async () => {
      expect(store.direct !== undefined).toBe(store.kind === "s3");
      if (!store.direct) return;
      const size = 2000;
      const bytes = await bytesOf(generated(size, 14));
      const ref = await refOf(size, 14);
      await store.put(ref, generated(size, 14));
      const url = await store.direct.downloadUrl(ref.sha256, 60, 'report "final" é.bin');

      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer())).toEqual(bytes);
      expect(whole.headers.get("content-type")).toBe("application/octet-stream");
      expect(whole.headers.get("content-disposition")).toBe(`attachment; filename="report _final_ _.bin"; filename*=UTF-8''report%20%22final%22%20%C3%A9.bin`);

      const part = await fetch(url, { headers: { range: "bytes=100-199" } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));

      const signature = new URL(url).searchParams.get("X-Amz-Signature")!;
      const altered = url.replace(signature, `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`);
      expect((await fetch(altered)).status).toBe(403);
      const otherBlob = url.replace(ref.sha256, "1".repeat(64)).replace(`/${ref.sha256.slice(0, 2)}/`, "/11/");
      expect((await fetch(otherBlob)).status).toBe(403);
      await expect(store.direct.downloadUrl(ref.sha256, 0, "x")).rejects.toThrow(RangeError);
    });

    describeResumableUploads(name, () => store);
  });
}

async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The most the process's RSS grew above its level at the start while `work` ran (sampled every 10 ms). */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 10);
  try {
    const result = await work();
    sample();
    return { result, growthBytes: peak - base };
  } finally {
    clearInterval(timer);
  }
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);
