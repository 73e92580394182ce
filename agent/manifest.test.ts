import { buildManifest, compareNames, namePathProblem } from "./manifest";

// Computed apart from this code, in a shell:
//   printf 'step,loss\n1,0.5\n' | sha256sum   -> 321dbd57...36f7 (16 bytes)
//   printf '42\n' | sha256sum                 -> 084c799c...9cc0 (3 bytes)
//   printf '%s 16 logs/metrics.csv\n%s 3 result\n' 321dbd57...36f7 084c799c...9cc0 | sha256sum
const METRICS = "321dbd57fed5631b1504f882f404b575b447c0336f3e2e4391c9c24cb7a936f7";
const RESULT = "084c799cd551dd1d8d5c5f9a5d593b2e931f5e36122ee5c793c1d08a19839cc0";
const EXPECTED_HASH = "0e8f8cec69fd144a00dd3b272ed042bccbcd59ec98559b7c7b5c410d756b5090";

describe("buildManifest", () => {
  it("lists the outputs sorted by name, one line each, and hashes those bytes", () => {
    const manifest = buildManifest([
      { name: "result", sha256: RESULT, sizeBytes: 3 },
      { name: "logs/metrics.csv", sha256: METRICS, sizeBytes: 16 },
    ]);
    expect(manifest.bytes.toString("utf8")).toBe(`${METRICS} 16 logs/metrics.csv\n${RESULT} 3 result\n`);
    expect(manifest.resultHash).toBe(EXPECTED_HASH);
    expect(manifest.entries.map((e) => e.name)).toEqual(["logs/metrics.csv", "result"]);
  });

  it("sorts by UTF-8 bytes, not UTF-16 code units", () => {
    // U+FF61 is EF BD A1 in UTF-8, U+1F600 is F0 9F 98 80: bytes put U+FF61 first, UTF-16 (D83D < FF61) the emoji
    const names = ["\u{1F600}", "\uFF61", "a/b", "a-b", "B", "a"];
    expect([...names].sort(compareNames)).toEqual(["B", "a", "a-b", "a/b", "\uFF61", "\u{1F600}"]);
    const manifest = buildManifest(names.map((name) => ({ name, sha256: RESULT, sizeBytes: 3 })));
    expect(manifest.entries.map((e) => e.name)).toEqual(["B", "a", "a-b", "a/b", "\uFF61", "\u{1F600}"]);
  });

  it("is empty for no outputs", () => {
    expect(buildManifest([]).resultHash).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("refuses bad entries", () => {
    expect(() => buildManifest([{ name: "../x", sha256: RESULT, sizeBytes: 1 }])).toThrow(/".." component/);
    expect(() => buildManifest([{ name: "x", sha256: RESULT.toUpperCase(), sizeBytes: 1 }])).toThrow(/lowercase hex/);
    expect(() => buildManifest([{ name: "x", sha256: RESULT, sizeBytes: -1 }])).toThrow(/whole number/);
    expect(() => buildManifest([{ name: "x", sha256: RESULT, sizeBytes: 1 }, { name: "x", sha256: RESULT, sizeBytes: 1 }])).toThrow(/twice/);
  });
});

describe("namePathProblem", () => {
  it.each(["result", "a/b/c.txt", "é/日本.bin", ".hidden", "a..b", "x".repeat(255), "é".repeat(127)])("accepts %j", (name) => {
    expect(namePathProblem(name)).toBeNull();
  });

  it.each([
    ["", /empty/],
    ["/etc/passwd", /starts with \//],
    ["a\\b", /backslash/],
    ["a\u0000b", /control/],
    ["a\nb", /control/],
    ["a\u007fb", /control/],
    ["a\u0085b", /control/],
    ["a\ud800b", /Unicode/],
    ["a//b", /empty component/],
    ["a/", /empty component/],
    [".", /"\." component/],
    ["a/./b", /"\." component/],
    ["..", /"\.\." component/],
    ["a/../b", /"\.\." component/],
    ["x".repeat(256), /255 bytes/],
    ["é".repeat(128), /255 bytes/],
  ])("refuses %j", (name, reason) => {
    expect(namePathProblem(name)).toMatch(reason);
  });
});
