import { createHash } from "node:crypto";
import fc from "fast-check";
import { outputManifest as serverManifest } from "../../api/services/artifact-names";
import { outputManifest, outputsMatchResult, sha256Hex } from "./manifest";

const entry = fc.record({
  name: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !s.includes("\n")),
  sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
  sizeBytes: fc.bigInt({ min: 0n, max: 2n ** 40n }),
});

it("writes the manifest as the server does (sorted by UTF-8 bytes), and hashes it as the server does", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 8 }), async (entries) => {
      const server = serverManifest(entries);
      expect(outputManifest(entries)).toBe(server.bytes.toString("utf8"));
      expect(await sha256Hex(outputManifest(entries))).toBe(server.sha256);
      expect(await outputsMatchResult(entries, server.sha256)).toBe(true);
    }),
  );
});

it("refuses an output list that is not the one the result hash names", async () => {
  const outputs = [
    { name: "result", sha256: "b".repeat(64), sizeBytes: "5" },
    { name: "logs/train.txt", sha256: "a".repeat(64), sizeBytes: "12" },
  ];
  const hash = createHash("sha256").update(`${"a".repeat(64)} 12 logs/train.txt\n${"b".repeat(64)} 5 result\n`).digest("hex");
  expect(await outputsMatchResult(outputs, hash)).toBe(true);
  expect(await outputsMatchResult(outputs.slice(1), hash)).toBe(false);
  expect(await outputsMatchResult([{ ...outputs[0], sizeBytes: "6" }, outputs[1]], hash)).toBe(false);
});
