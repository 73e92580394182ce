import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { codeOfStatus, ExchangeError } from "../errors";
import type { JobOutputs } from "../job";
import { outputsMatchResult } from "../manifest";
import type { TransferProgress } from "../upload";

/** Options of {@link downloadFile} and {@link downloadOutputs}. */
export interface DownloadOptions {
  onProgress?(progress: TransferProgress & { name: string }): void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/**
 * Streams a signed URL to `path` (through `path.part`, renamed when whole), hashing on the way; with `sha256`, bytes
 * that hash otherwise are deleted and INTEGRITY_ERROR thrown. Memory stays flat whatever the size.
 */
export async function downloadFile(url: string, path: string, options: DownloadOptions & { sha256?: string; sizeBytes?: number; name?: string } = {}): Promise<{ sha256: string; sizeBytes: number }> {
  const name = options.name ?? path;
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, { signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw new ExchangeError("ABORTED", `the download of ${name} was aborted`, { cause: err });
    throw new ExchangeError("NETWORK_ERROR", `the download of ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => "");
    throw new ExchangeError(codeOfStatus(res.status), `the download of ${name} was refused (${res.status})${text ? `: ${text.slice(0, 200)}` : ""}`, { status: res.status });
  }
  const total = options.sizeBytes ?? Number(res.headers.get("content-length") ?? 0);
  const hash = createHash("sha256");
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      options.onProgress?.({ name, bytes, totalBytes: total });
      done(null, chunk);
    },
  });
  await mkdir(dirname(path), { recursive: true });
  const part = `${path}.part`;
  try {
    await pipeline(Readable.fromWeb(res.body as unknown as NodeWebStream<Uint8Array>), meter, createWriteStream(part), { signal: options.signal });
  } catch (err) {
    await rm(part, { force: true });
    throw new ExchangeError(options.signal?.aborted ? "ABORTED" : "NETWORK_ERROR", `the download of ${name} broke off: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const sha256 = hash.digest("hex");
  if (options.sha256 !== undefined && sha256 !== options.sha256.toLowerCase()) {
    await rm(part, { force: true });
    throw new ExchangeError("INTEGRITY_ERROR", `${name}: the bytes downloaded hash to ${sha256}, not ${options.sha256}; nothing was kept`);
  }
  await rename(part, path);
  return { sha256, sizeBytes: bytes };
}

/** A downloaded output: its name and where it was written. */
export interface DownloadedOutput {
  name: string;
  path: string;
  sha256: string;
  sizeBytes: number;
}

/** Where an output's name puts it under `dir`; refuses names that would leave it. */
function targetOf(dir: string, name: string): string {
  const root = resolve(dir);
  const target = resolve(root, ...name.split("/"));
  const rel = relative(root, target);
  if (rel === "" || rel.startsWith("..") || rel.split(sep).includes("..")) throw new ExchangeError("INTEGRITY_ERROR", `the output name ${JSON.stringify(name)} would leave ${dir}`);
  return join(root, rel);
}

/**
 * Downloads a job's outputs into `dir` (each at its name), checked end to end: the list of outputs must be the one
 * whose manifest the replicas agreed on (`result.hash`), and each file must hash to its listed sha256. Needs the
 * download URLs (the job's owner, within the retention period).
 */
export async function downloadOutputs(job: JobOutputs, dir: string, options: DownloadOptions = {}): Promise<DownloadedOutput[]> {
  if (!job.result) throw new ExchangeError("NOT_FOUND", `job ${job.id} has no result (it is ${job.status})`);
  if (!(await outputsMatchResult(job.outputs, job.result.hash))) {
    throw new ExchangeError("INTEGRITY_ERROR", `the outputs listed for job ${job.id} are not the ones its result hash ${job.result.hash} names`);
  }
  const out: DownloadedOutput[] = [];
  for (const output of job.outputs) {
    if (!output.downloadUrl) throw new ExchangeError("NOT_FOUND", `${output.name} can no longer be downloaded (past retention, or not your job)`);
    const path = targetOf(dir, output.name);
    const got = await downloadFile(output.downloadUrl, path, { ...options, name: output.name, sha256: output.sha256, sizeBytes: Number(output.sizeBytes) });
    out.push({ name: output.name, path, ...got });
  }
  return out;
}
