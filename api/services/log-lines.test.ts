import { cutToBytes, MASK, maskSecrets } from "./log-lines";

it("masks every occurrence of each secret, longest first, and leaves short values alone", () => {
  expect(maskSecrets("token=abcd1234 again abcd1234", ["abcd1234"])).toBe(`token=${MASK} again ${MASK}`);
  expect(maskSecrets("pw hunter22 / hunter2", ["hunter2", "hunter22"])).toBe(`pw ${MASK} / ${MASK}`);
  expect(maskSecrets("a b c", ["a", "b"])).toBe("a b c");
});

it("cuts long lines to the byte bound on a character boundary", () => {
  expect(cutToBytes("short", 10)).toBe("short");
  const cut = cutToBytes("x".repeat(20), 10);
  expect(cut).toBe(`${"x".repeat(7)}…`);
  expect(Buffer.byteLength(cut)).toBe(10);
  // "é" is 2 bytes: 7 bytes of room hold 3 of them, never half of one
  const accents = cutToBytes("é".repeat(10), 10);
  expect(accents).toBe("ééé…");
  expect(Buffer.byteLength(accents)).toBeLessThanOrEqual(10);
  const emoji = cutToBytes("😀".repeat(5), 12);
  expect(emoji).toBe("😀😀…");
});
