import { createHash } from "node:crypto";

/** Longest input path or output name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Most output files an assignment may leave in GX_OUTPUT_DIR. */
export const MAX_OUTPUTS = 1000;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `name` cannot be an input path or an output name, or null when it can. A name is a relative path with `/`
 * separators: not empty, no leading `/`, no empty, `.` or `..` component, no backslash, NUL or other control
 * character, valid Unicode, at most 255 bytes of UTF-8.
 */
export function namePathProblem(name: string): string | null {
  if (name === "") return "is empty";
  if (name.startsWith("/")) return "starts with /";
  if (name.includes("\\")) return "contains a backslash";
  if (hasControlCharacter(name)) return "contains a control character";
  if (LONE_SURROGATE.test(name)) return "is not valid Unicode";
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  for (const part of name.split("/")) {
    if (part === "") return "has an empty component";
    if (part === "." || part === "..") return `has a "${part}" component`;
  }
  return null;
}

/** Whether `text` has a C0 or C1 control character (U+0000..U+001F, U+007F..U+009F). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A name as it can be shown in a reason or a log: quoted, escaped, at most 100 characters. */
export function shownName(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

/** One output file as the manifest lists it. */
export interface ManifestEntry {
  /** The path relative to GX_OUTPUT_DIR, `/`-separated. */
  name: string;
  /** 64 lowercase hex digits. */
  sha256: string;
  sizeBytes: number;
}

/** The manifest of an assignment's outputs and the result hash made from it. */
export interface Manifest {
  /** The entries sorted by the UTF-8 bytes of their names. */
  entries: ManifestEntry[];
  /** `<sha256> <sizeBytes> <name>\n` per entry, UTF-8. */
  bytes: Buffer;
  /** sha256 of `bytes`, 64 lowercase hex digits: what CompleteAssignment sends as the result hash. */
  resultHash: string;
}

/** Compares two names by their UTF-8 bytes (not by UTF-16 code units, as `<` on strings would). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The manifest of `entries`: one line `<sha256 lowercase hex> <sizeBytes decimal> <name>\n` per output, sorted by
 * the names' UTF-8 bytes, and its sha256. Throws on a bad name, a duplicate name, a sha256 that is not 64
 * lowercase hex digits or a size that is not a whole number ≥ 0. Pure.
 */
export function buildManifest(entries: readonly ManifestEntry[]): Manifest {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  const lines: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const { name, sha256, sizeBytes } = sorted[i];
    const problem = namePathProblem(name);
    if (problem) throw new Error(`output ${shownName(name)} ${problem}`);
    if (i > 0 && sorted[i - 1].name === name) throw new Error(`output ${shownName(name)} is listed twice`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`output ${shownName(name)}: sha256 must be 64 lowercase hex digits`);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new Error(`output ${shownName(name)}: size must be a whole number of bytes`);
    lines.push(`${sha256} ${sizeBytes} ${name}\n`);
  }
  const bytes = Buffer.from(lines.join(""), "utf8");
  return { entries: sorted, bytes, resultHash: createHash("sha256").update(bytes).digest("hex") };
}
