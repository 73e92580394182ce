import { parseContentRange, parseRange } from "./byte-range";

it("reads single byte ranges as inclusive offsets, clamped to the body", () => {
  expect(parseRange(undefined, 100n)).toBeUndefined();
  expect(parseRange("bytes=0-0", 100n)).toEqual({ start: 0, end: 0 });
  expect(parseRange("bytes=10-19", 100n)).toEqual({ start: 10, end: 19 });
  expect(parseRange("bytes=90-", 100n)).toEqual({ start: 90, end: 99 });
  expect(parseRange("bytes=90-500", 100n)).toEqual({ start: 90, end: 99 });
  expect(parseRange("bytes=-10", 100n)).toEqual({ start: 90, end: 99 });
  expect(parseRange("bytes=-500", 100n)).toEqual({ start: 0, end: 99 });
});

it("answers unsatisfiable past the end and ignores what it does not take", () => {
  expect(parseRange("bytes=100-", 100n)).toBe("unsatisfiable");
  expect(parseRange("bytes=20-10", 100n)).toBe("unsatisfiable");
  expect(parseRange("bytes=-0", 100n)).toBe("unsatisfiable");
  expect(parseRange("bytes=0-", 0n)).toBe("unsatisfiable");
  expect(parseRange("bytes=0-1,5-6", 100n)).toBeUndefined();
  expect(parseRange("items=0-1", 100n)).toBeUndefined();
  expect(parseRange("bytes=-", 100n)).toBeUndefined();
});

it("reads a resumable PUT's Content-Range: a query of the offset, or a part within the total", () => {
  expect(parseContentRange(undefined)).toBeUndefined();
  expect(parseContentRange("bytes */2147483648")).toEqual({ kind: "query", total: 2147483648n });
  expect(parseContentRange("bytes 0-99/100")).toEqual({ kind: "part", start: 0n, end: 99n, total: 100n });
  expect(parseContentRange("bytes 40-40/100")).toEqual({ kind: "part", start: 40n, end: 40n, total: 100n });
  for (const bad of ["bytes 0-100/100", "bytes 50-49/100", "bytes 0-9/*", "items 0-9/10", "bytes=0-9/10", "bytes -9/10", "bytes 0-9/10, 10-19/20", ""]) {
    expect(parseContentRange(bad)).toBe("invalid");
  }
});
