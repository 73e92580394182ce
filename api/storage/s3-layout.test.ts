import { assertKeyPrefix, blobObjectKey, DEFAULT_PART_BYTES, partBytesFor, rangeHeader, rangeTrim, S3_MAX_OBJECT_BYTES, S3_MAX_PARTS } from "./s3-layout";

const MIB = 1024 * 1024;
const H = "0123456789abcdef".repeat(4);

describe("blobObjectKey", () => {
  it("fans blobs out by their first two hex digits under the prefix", () => {
    expect(blobObjectKey("blobs/", H)).toBe(`blobs/01/${H}`);
    expect(blobObjectKey("", H)).toBe(`01/${H}`);
    expect(blobObjectKey("tenant/a/", H)).toBe(`tenant/a/01/${H}`);
  });
});

describe("assertKeyPrefix", () => {
  it.each(["", "blobs/", "a/b.c/d_e-f/"])("takes %j", (prefix) => expect(() => assertKeyPrefix(prefix)).not.toThrow());
  it.each(["blobs", "/blobs/", "a//", "../x/", "./", "a/../", "sp ace/", "é/", "a\n/"])("refuses %j", (prefix) => expect(() => assertKeyPrefix(prefix)).toThrow(/prefix/));
});

describe("partBytesFor", () => {
  it("uses the preferred part size while 10,000 parts of it hold the blob", () => {
    expect(partBytesFor(0n)).toBe(DEFAULT_PART_BYTES);
    expect(partBytesFor(BigInt(DEFAULT_PART_BYTES) * BigInt(S3_MAX_PARTS))).toBe(DEFAULT_PART_BYTES);
    expect(partBytesFor(100n, 5 * MIB)).toBe(5 * MIB);
  });

  it("grows to the next whole MiB that fits a bigger blob in 10,000 parts, up to S3's 5 TiB", () => {
    const just = BigInt(DEFAULT_PART_BYTES) * BigInt(S3_MAX_PARTS) + 1n;
    expect(partBytesFor(just)).toBe(DEFAULT_PART_BYTES + MIB);
    const most = partBytesFor(S3_MAX_OBJECT_BYTES);
    expect(most % MIB).toBe(0);
    expect(BigInt(most) * BigInt(S3_MAX_PARTS)).toBeGreaterThanOrEqual(S3_MAX_OBJECT_BYTES);
    expect(BigInt(most - MIB) * BigInt(S3_MAX_PARTS)).toBeLessThan(S3_MAX_OBJECT_BYTES);
  });

  it("refuses a blob over 5 TiB, a negative size and a part under 5 MiB", () => {
    expect(() => partBytesFor(S3_MAX_OBJECT_BYTES + 1n)).toThrow(RangeError);
    expect(() => partBytesFor(-1n)).toThrow(RangeError);
    expect(() => partBytesFor(10n, 5 * MIB - 1)).toThrow(RangeError);
  });
});

describe("rangeHeader", () => {
  it("writes inclusive offsets", () => {
    expect(rangeHeader({ start: 0, end: 0 })).toBe("bytes=0-0");
    expect(rangeHeader({ start: 10, end: 99 })).toBe("bytes=10-99");
  });
  it.each([
    [-1, 3],
    [5, 4],
    [0.5, 3],
    [0, Number.MAX_SAFE_INTEGER + 2],
  ])("refuses %d-%d", (start, end) => expect(() => rangeHeader({ start, end })).toThrow(RangeError));
});

describe("rangeTrim", () => {
  it("keeps an answer that is exactly the range", () => {
    expect(rangeTrim({ start: 10, end: 19 }, "bytes 10-19/100", 10)).toEqual({ skipBytes: 0, keepBytes: 10 });
  });
  it("cuts a wider answer down to the range (s3rver answers bytes=0-0 with the whole object)", () => {
    expect(rangeTrim({ start: 0, end: 0 }, "bytes 0-99/100", 100)).toEqual({ skipBytes: 0, keepBytes: 1 });
    expect(rangeTrim({ start: 30, end: 39 }, "bytes 20-99/100", 80)).toEqual({ skipBytes: 10, keepBytes: 10 });
  });
  it("cuts a whole-object answer (Range ignored) and an end past the blob at its last byte", () => {
    expect(rangeTrim({ start: 5, end: 9 }, undefined, 100)).toEqual({ skipBytes: 5, keepBytes: 5 });
    expect(rangeTrim({ start: 95, end: 200 }, undefined, 100)).toEqual({ skipBytes: 95, keepBytes: 5 });
    expect(rangeTrim({ start: 95, end: 200 }, "bytes 95-99/100", 5)).toEqual({ skipBytes: 0, keepBytes: 5 });
  });
  it("refuses an answer that does not cover the range", () => {
    expect(() => rangeTrim({ start: 10, end: 19 }, "bytes 11-19/100", 9)).toThrow(/answered/);
    expect(() => rangeTrim({ start: 10, end: 19 }, "bytes 10-15/100", 6)).toThrow(/answered/);
    expect(() => rangeTrim({ start: 10, end: 19 }, "bytes */100", 0)).toThrow(/answered/);
    expect(() => rangeTrim({ start: 100, end: 101 }, undefined, 100)).toThrow(RangeError);
  });
});
