import type { ByteRange } from "../storage/blob-store";

/**
 * Reads an HTTP Range header for a body of `size` bytes: undefined for none (or one this server does not take, such
 * as several ranges: the whole body is sent), "unsatisfiable" for a range that starts past the end, else the inclusive
 * byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n` for the last n bytes).
 */
export function parseRange(header: string | undefined, size: bigint): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const total = Number(size);
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || total === 0) return "unsatisfiable";
    return { start: Math.max(0, total - suffix), end: total - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? total - 1 : Math.min(Number(m[2]), total - 1);
  if (start >= total || end < start) return "unsatisfiable";
  return { start, end };
}
