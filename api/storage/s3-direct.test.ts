import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BlobMismatchError } from "./blob-store";
import { adoptStaged, stagedObjectKey, type StagedHead, type StagedObjects } from "./s3-direct";

const bytes = Buffer.from("the staged bytes of one upload\n");
const ref = { sha256: createHash("sha256").update(bytes).digest("hex"), sizeBytes: BigInt(bytes.length) };
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

/** A bucket of one staged object (or none) and one blob key, recording what was done to it. */
function bucket(staged: { head: StagedHead; body: Buffer } | undefined, blobThere = false) {
  const done: string[] = [];
  const objects: StagedObjects = {
    head: async () => staged?.head,
    read: async () => {
      done.push("read");
      return Readable.from([staged!.body]);
    },
    blobExists: async () => blobThere,
    copyToBlob: async () => void done.push("copy"),
    deleteStaged: async () => void done.push("delete"),
  };
  return { objects, done };
}

describe("adoptStaged", () => {
  it("is false, and touches nothing, when nothing was uploaded", async () => {
    const { objects, done } = bucket(undefined);
    await expect(adoptStaged(objects, ref)).resolves.toBe(false);
    expect(done).toEqual([]);
  });

  it("trusts the sha256 the store checked at upload: copies without reading the bytes", async () => {
    const { objects, done } = bucket({ head: { sizeBytes: ref.sizeBytes, checksumSha256: b64(ref.sha256) }, body: Buffer.alloc(0) });
    await expect(adoptStaged(objects, ref)).resolves.toBe(true);
    expect(done).toEqual(["copy", "delete"]);
  });

  it("refuses and deletes an object whose stored sha256 or size is another", async () => {
    const wrongHash = bucket({ head: { sizeBytes: ref.sizeBytes, checksumSha256: b64("ab".repeat(32)) }, body: bytes });
    await expect(adoptStaged(wrongHash.objects, ref)).rejects.toThrow(new BlobMismatchError(`the uploaded object has the sha256 ${"ab".repeat(32)}, not the declared ${ref.sha256}; it was deleted`));
    expect(wrongHash.done).toEqual(["delete"]);
    const wrongSize = bucket({ head: { sizeBytes: ref.sizeBytes + 1n }, body: bytes });
    await expect(adoptStaged(wrongSize.objects, ref)).rejects.toThrow(`has ${ref.sizeBytes + 1n} bytes, not the declared ${ref.sizeBytes}`);
    expect(wrongSize.done).toEqual(["delete"]);
  });

  it("reads and hashes the bytes where the store keeps no sha256, and refuses an altered byte", async () => {
    const good = bucket({ head: { sizeBytes: ref.sizeBytes }, body: bytes });
    await expect(adoptStaged(good.objects, ref)).resolves.toBe(true);
    expect(good.done).toEqual(["read", "copy", "delete"]);
    const altered = Buffer.from(bytes);
    altered[3] ^= 0x20;
    const bad = bucket({ head: { sizeBytes: ref.sizeBytes }, body: altered });
    await expect(adoptStaged(bad.objects, ref)).rejects.toThrow(BlobMismatchError);
    expect(bad.done).toEqual(["read", "delete"]);
  });

  it("does not copy over a blob that is already stored, and still removes the staged object", async () => {
    const { objects, done } = bucket({ head: { sizeBytes: ref.sizeBytes, checksumSha256: b64(ref.sha256) }, body: bytes }, true);
    await expect(adoptStaged(objects, ref)).resolves.toBe(true);
    expect(done).toEqual(["delete"]);
  });
});

describe("stagedObjectKey", () => {
  it("is under <prefix>staged/, never a blob's two-hex-digit folder, and takes only transfer names and blob keys", () => {
    expect(stagedObjectKey("blobs/", "output-abc", ref)).toBe(`blobs/staged/output-abc.${ref.sha256}`);
    expect(() => stagedObjectKey("blobs/", "../../x", ref)).toThrow(/not an upload name/);
    expect(() => stagedObjectKey("blobs/", "input-1", { ...ref, sha256: ref.sha256.toUpperCase() })).toThrow(/not a blob key/);
  });
});
