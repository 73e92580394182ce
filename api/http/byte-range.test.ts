import { parseRange } from "./byte-range";

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
