/** What stands for a masked secret in a log line. */
export const MASK = "********";

/** Replaces every occurrence of each secret (values of 4 characters or more; shorter ones would mask at random) with {@link MASK}. */
export function maskSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const s of [...secrets].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  return out;
}

/** The line cut to at most `maxBytes` UTF-8 bytes, on a character boundary, with "…" (3 bytes) when it was cut. */
export function cutToBytes(line: string, maxBytes: number): string {
  const full = Buffer.from(line, "utf8");
  if (full.length <= maxBytes) return line;
  let end = Math.max(0, maxBytes - 3);
  // a boundary is where no continuation byte (10xxxxxx) starts
  while (end > 0 && (full[end] & 0xc0) === 0x80) end--;
  return `${full.subarray(0, end).toString("utf8")}…`;
}
