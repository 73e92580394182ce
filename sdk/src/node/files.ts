import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import type { ExchangeClient } from "../client";
import { uploadInput, type PutOptions, type UploadedInput } from "../upload";

/** sha256 (hex) and size of a file, read as a stream (never whole in memory). */
export async function sha256File(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), sizeBytes };
}

/** Options of {@link uploadFile}. */
export interface UploadFileOptions extends Omit<PutOptions, "fetch"> {
  /** The input's name (a relative path); the file's base name by default. */
  name?: string;
}

/**
 * Uploads a file from disk as a job input: hashed as a stream, then streamed to the signed URL with progress, so
 * memory stays flat whatever its size. The file must not change meanwhile (the server refuses other bytes).
 */
export async function uploadFile(client: ExchangeClient, path: string, options: UploadFileOptions = {}): Promise<UploadedInput> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const { sha256, sizeBytes } = await sha256File(path);
  const body = Readable.toWeb(createReadStream(path)) as NodeWebStream<Uint8Array> as unknown as ReadableStream<Uint8Array>;
  try {
    return await uploadInput(client, { name: options.name ?? basename(path), body, sizeBytes, sha256 }, options);
  } catch (err) {
    await body.cancel().catch(() => undefined);
    throw err;
  }
}
