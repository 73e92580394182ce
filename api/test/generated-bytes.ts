import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobRef } from "../storage/blob-store";

/** `sizeBytes` of pseudo-random bytes from `seed` (xorshift32), made 64 KiB at a time as they are read. */
export function generated(sizeBytes: number, seed: number): Readable {
  let state = (seed * 2654435761) >>> 0 || 1;
  let left = sizeBytes;
  const body = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(64 * 1024, left);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state >>> 0;
      }
      left -= n;
      counts.set(body, (counts.get(body) ?? 0) + n);
      this.push(Buffer.from(words.buffer, 0, n));
    },
  });
  return body;
}

const counts = new WeakMap<Readable, number>();
/** How many bytes of a {@link generated} body have been made (read, or buffered to be read). */
export function pulled(body: Readable): number {
  return counts.get(body) ?? 0;
}

export async function refOf(sizeBytes: number, seed: number): Promise<BlobRef> {
  return { sha256: await sha256Of(generated(sizeBytes, seed)), sizeBytes: BigInt(sizeBytes) };
}

export async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

