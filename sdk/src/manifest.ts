/** A job's outputs' manifest (README "Files"): what `result.hash` is the sha256 of, so downloads can be checked. */

/** One output as the manifest names it. */
export interface ManifestEntry {
  name: string;
  sha256: string;
  sizeBytes: string | bigint | number;
}

const encoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The manifest's text: one line per output, sorted by the names' UTF-8 bytes, each `<sha256> <sizeBytes> <name>\n`. */
export function outputManifest(entries: readonly ManifestEntry[]): string {
  return [...entries]
    .map((e) => ({ e, key: encoder.encode(e.name) }))
    .sort((a, b) => compareBytes(a.key, b.key))
    .map(({ e }) => `${e.sha256} ${String(e.sizeBytes)} ${e.name}\n`)
    .join("");
}

/** sha256 of bytes (a string as UTF-8) as 64 lowercase hex digits, with WebCrypto (browsers, Node 20+). */
export async function sha256Hex(data: Uint8Array | ArrayBuffer | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether the outputs listed are exactly those whose manifest the replicas agreed on (`result.hash`). */
export async function outputsMatchResult(outputs: readonly ManifestEntry[], resultHash: string): Promise<boolean> {
  return (await sha256Hex(outputManifest(outputs))) === resultHash.toLowerCase();
}
