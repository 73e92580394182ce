import { Readable } from "node:stream";
import { BlobMismatchError, BlobNotFoundError, UploadOffsetError, type BlobStore } from "../storage/blob-store";
import { generated, refOf, sha256Of } from "./generated-bytes";

const MIB = 1024 * 1024;

/** The bytes `from..size` of {@link generated}(size, seed), made as they are read. */
function generatedFrom(sizeBytes: number, seed: number, from: number): Readable {
  return Readable.from(
    (async function* () {
      let at = 0;
      for await (const chunk of generated(sizeBytes, seed) as AsyncIterable<Buffer>) {
        const piece = chunk.subarray(Math.max(0, from - at));
        at += chunk.length;
        if (piece.length > 0) yield piece;
      }
    })(),
    { objectMode: false },
  );
}

/** The first `cut` bytes of `body`, then an error, as a connection broken off mid-body; `sent.bytes` counts what went. */
function brokenAfter(body: Readable, cut: number, sent = { bytes: 0 }): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const piece = chunk.subarray(0, cut - sent.bytes);
        sent.bytes += piece.length;
        if (piece.length > 0) yield piece;
        if (sent.bytes >= cut) throw new Error("the connection broke off");
      }
    })(),
    { objectMode: false },
  );
}

/** What every adapter's resumable uploads do, against a real store (called by `describeBlobStore`). */
export function describeResumableUploads(name: string, storeOf: () => BlobStore): void {
  describe(`the ${name} store's resumable uploads`, () => {
    it("keeps what a broken body stored, continues from the offset it answers, and only then serves the verified blob", async () => {
      const store = storeOf();
      const size = 40 * MIB + 12_345;
      const ref = await refOf(size, 21);
      const upload = "output-00000000-0000-4000-8000-000000000021";
      expect(await store.resumable.offset(upload, ref)).toBe(0n);
      const sent = { bytes: 0 };
      await expect(store.resumable.append(upload, ref, 0n, brokenAfter(generated(size, 21), 20 * MIB, sent))).rejects.toThrow();
      const offset = await store.resumable.offset(upload, ref);
      expect(offset).toBeGreaterThan(0n);
      expect(offset).toBeLessThanOrEqual(BigInt(sent.bytes));
      expect(await store.stat(ref.sha256)).toBeUndefined();
      await expect(store.read(ref.sha256)).rejects.toBeInstanceOf(BlobNotFoundError);

      await expect(store.resumable.append(upload, ref, offset + 1n, generatedFrom(size, 21, Number(offset) + 1))).rejects.toEqual(new UploadOffsetError(offset));
      expect(await store.resumable.append(upload, ref, offset, generatedFrom(size, 21, Number(offset)))).toBe(BigInt(size));
      expect(await store.stat(ref.sha256)).toEqual({ sizeBytes: BigInt(size) });
      expect(await sha256Of(await store.read(ref.sha256))).toBe(ref.sha256);
    });

    it("answers a whole body in one append, and an upload in several requests that end cleanly", async () => {
      const store = storeOf();
      const whole = await refOf(3000, 22);
      expect(await store.resumable.append("input-00000000-0000-4000-8000-000000000022", whole, 0n, generated(3000, 22))).toBe(3000n);
      expect(await sha256Of(await store.read(whole.sha256))).toBe(whole.sha256);

      const size = 20 * MIB;
      const ref = await refOf(size, 23);
      const upload = "checkpoint-00000000-0000-4000-8000-000000000023";
      const first = await store.resumable.append(upload, ref, 0n, brokenAfter(generated(size, 23), 17 * MIB).once("error", () => undefined)).catch(() => undefined);
      expect(first).toBeUndefined();
      const at = await store.resumable.offset(upload, ref);
      expect(await store.resumable.append(upload, ref, at, generatedFrom(size, 23, Number(at)))).toBe(BigInt(size));
      expect(await sha256Of(await store.read(ref.sha256))).toBe(ref.sha256);
    });

    it("drops an upload whose whole sha256 is not the declared one: nothing stored, the next try starts at 0", async () => {
      const store = storeOf();
      const size = 18 * MIB;
      const ref = { ...(await refOf(size, 24)), sha256: "ab".repeat(32) };
      const upload = "output-00000000-0000-4000-8000-000000000024";
      await expect(store.resumable.append(upload, ref, 0n, generated(size, 24))).rejects.toBeInstanceOf(BlobMismatchError);
      expect(await store.stat(ref.sha256)).toBeUndefined();
      expect(await store.resumable.offset(upload, ref)).toBe(0n);
      await expect(store.resumable.append(upload, { ...ref, sizeBytes: BigInt(size - 1) }, 0n, generated(size, 24))).rejects.toBeInstanceOf(BlobMismatchError);
    });

    it("lets a newer request take an upload over from one still in flight (its body is cut off)", async () => {
      const store = storeOf();
      const ref = await refOf(1000, 25);
      const upload = "output-00000000-0000-4000-8000-000000000025";
      const stalled = new Readable({ read() {} });
      stalled.push(Buffer.alloc(10));
      const first = store.resumable.append(upload, ref, 0n, stalled).then(
        () => "stored",
        () => "cut off",
      );
      await expect(store.resumable.offset(upload, ref)).resolves.toBeGreaterThanOrEqual(0n);
      expect(await first).toBe("cut off");
      expect(stalled.destroyed).toBe(true);
    });

    it.each(["../x", "output-../../etc", "OUTPUT-1", ""])("refuses the upload name %j", async (bad) => {
      const store = storeOf();
      const ref = await refOf(10, 26);
      await expect(store.resumable.offset(bad, ref)).rejects.toThrow(/not an upload name/);
      await expect(store.resumable.append(bad, ref, 0n, generated(10, 26))).rejects.toThrow(/not an upload name/);
    });
  });
}
