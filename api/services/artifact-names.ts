import { createHash } from "node:crypto";
import { badInput } from "./errors";

/** The longest name (in UTF-8 bytes) of an input's path or an output. */
export const MAX_NAME_BYTES = 255;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Throws BAD_USER_INPUT unless `name` is a relative path that stays where it is put: `/`-separated parts, none empty,
 * `.` or `..`; no leading `/`, no backslash, NUL or other C0 or C1 control character (U+0000..U+001F,
 * U+007F..U+009F); valid Unicode (no lone surrogate, which would be stored as U+FFFD); at most 255 UTF-8 bytes. The
 * agent's rules (agent/manifest.ts), so a name the server takes is one the agent can lay out.
 */
export function assertRelativeName(what: string, name: string): void {
  if (typeof name !== "string" || name.length === 0) throw badInput(`${what} must not be empty`);
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) throw badInput(`${what} may be at most ${MAX_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(name)) throw badInput(`${what} may not contain control characters or backslashes`);
  if (LONE_SURROGATE.test(name)) throw badInput(`${what} must be valid Unicode (it has a lone surrogate)`);
  if (name.startsWith("/")) throw badInput(`${what} must be a relative path, not ${JSON.stringify(name)}`);
  if (name.split("/").some((part) => part === "" || part === "." || part === "..")) throw badInput(`${what} may not have empty, "." or ".." parts: ${JSON.stringify(name)}`);
}

/**
 * Throws BAD_USER_INPUT when one of `paths` (each already a valid relative name, distinct) is a folder of another:
 * `data` and `data/x` cannot both be files under GX_INPUT_DIR.
 */
export function assertNoPathUnderAnother(what: string, paths: readonly string[]): void {
  const all = new Set(paths);
  for (const p of paths) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      if (all.has(folder)) throw badInput(`${what} ${JSON.stringify(p)} is under another input's path ${JSON.stringify(folder)}`);
    }
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A declared sha256 (any case) as 64 lowercase hex digits; BAD_USER_INPUT otherwise. */
export function sha256Of(what: string, value: string): string {
  const hash = typeof value === "string" ? value.toLowerCase() : "";
  if (!HEX64.test(hash)) throw badInput(`${what} must be a sha256: 64 hexadecimal characters`);
  return hash;
}

/** One file of a manifest. */
export interface ManifestEntry {
  name: string;
  sha256: string;
  sizeBytes: bigint;
}

/**
 * The outputs' manifest: one line per output, sorted by name (by the names' UTF-8 bytes), each
 * `<sha256> <sizeBytes> <name>\n`; its sha256 is the result hash replicas must agree on.
 */
export function outputManifest(entries: readonly ManifestEntry[]): { bytes: Buffer; sha256: string } {
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")));
  const bytes = Buffer.from(sorted.map((e) => `${e.sha256} ${e.sizeBytes} ${e.name}\n`).join(""), "utf8");
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}
