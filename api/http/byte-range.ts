import type { UploadRange } from "../services/transfer.service";
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

/**
 * Reads the Content-Range of a resumable PUT: `bytes *\/<total>` (with an empty body: where does the upload stand?) or
 * `bytes <start>-<end>/<total>` (inclusive offsets, start <= end < total). Undefined when there is none; "invalid"
 * for anything else (an unknown unit, a total of `*`, offsets out of order).
 */
export function parseContentRange(header: string | undefined): UploadRange | "invalid" | undefined {
  if (header === undefined) return undefined;
  const query = /^bytes \*\/(\d{1,16})$/.exec(header.trim());
  if (query) return { kind: "query", total: BigInt(query[1]) };
  const part = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16})$/.exec(header.trim());
  if (!part) return "invalid";
  const [start, end, total] = [BigInt(part[1]), BigInt(part[2]), BigInt(part[3])];
  return start <= end && end < total ? { kind: "part", start, end, total } : "invalid";
}
