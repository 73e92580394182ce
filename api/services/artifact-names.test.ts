import { ServiceError } from "./errors";
import { assertRelativeName, outputManifest, sha256Of } from "./artifact-names";

const refused = (name: string) => {
  try {
    assertRelativeName("name", name);
    return false;
  } catch (err) {
    return err instanceof ServiceError && err.code === "BAD_USER_INPUT";
  }
};

it("takes relative paths and refuses every way out of the folder", () => {
  for (const ok of ["result", "a/b.txt", "dir/sub/x.tar.gz", "ünï/çødé", "..a", "a..", ".hidden"]) expect(refused(ok)).toBe(false);
  for (const bad of ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".", "..", "a\\b", "a\u0000b", "a\nb", "x".repeat(256), "é".repeat(128)]) {
    expect(refused(bad)).toBe(true);
  }
  expect(refused("x".repeat(255))).toBe(false);
});

it("reads a sha256 in any case as lowercase and refuses anything else", () => {
  expect(sha256Of("sha256", "AB".repeat(32))).toBe("ab".repeat(32));
  expect(() => sha256Of("sha256", "ab".repeat(31))).toThrow(ServiceError);
  expect(() => sha256Of("sha256", "zz".repeat(32))).toThrow(ServiceError);
});

it("writes the manifest's documented bytes, sorted by the names' UTF-8 bytes, and hashes them", () => {
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  const { bytes, sha256 } = outputManifest([
    { name: "result", sha256: b, sizeBytes: 5n },
    { name: "logs/train.txt", sha256: a, sizeBytes: 12n },
  ]);
  expect(bytes.toString("utf8")).toBe(`${a} 12 logs/train.txt\n${b} 5 result\n`);
  // printf '%s 12 logs/train.txt\n%s 5 result\n' $(printf 'a%.0s' {1..64}) $(printf 'b%.0s' {1..64}) | sha256sum
  expect(sha256).toBe(EXPECTED);
  // "Z" (0x5a) sorts before "a" (0x61) and "é" (0xc3 0xa9) after "z"
  const order = outputManifest(["é", "z", "Z", "a"].map((name) => ({ name, sha256: a, sizeBytes: 1n }))).bytes.toString("utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[2]);
  expect(order).toEqual(["Z", "a", "z", "é"]);
  expect(outputManifest([]).bytes.length).toBe(0);
});

const EXPECTED = "0b1bae96ed0e34b2e45207a43386cb0d57afc3277bd4145bef3126ed0af089e1";
