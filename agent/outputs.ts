import { sha256Handle } from "./transfer";
import { lstat, readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { errorText } from "./error-text";
import { type ManifestEntry, MAX_OUTPUTS, namePathProblem, shownName } from "./manifest";
import { openUnder } from "./scratch";

/** Most folders GX_OUTPUT_DIR may hold (the walk is bounded as well as the files). */
export const MAX_OUTPUT_FOLDERS = 1000;

/** The reason, for the job's owner, why the outputs cannot be taken; the assignment fails with it. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Walks `realOutputDir` (a real path) and hashes every file in it by streaming. Only regular files and folders
 * are allowed: a symlink, FIFO, socket or device anywhere fails with "output <name> is not a regular file". Names
 * are the paths relative to the folder with `/` separators and must pass {@link namePathProblem} (and be valid
 * UTF-8 on disk); at most `maxFiles` files and {@link MAX_OUTPUT_FOLDERS} folders. Each file is opened with
 * O_NOFOLLOW and its real path checked to be exactly where the walk found it. Throws {@link OutputError}.
 */
export async function collectOutputs(realOutputDir: string, maxFiles: number = MAX_OUTPUTS): Promise<ManifestEntry[]> {
  const files: string[] = [];
  const folders: string[] = [""];
  let folderCount = 0;
  while (folders.length > 0) {
    const rel = folders.pop() as string;
    const dir = rel === "" ? realOutputDir : path.join(realOutputDir, ...rel.split("/"));
    let entries;
    try {
      // a folder swapped for a symlink since it was seen (or GX_OUTPUT_DIR itself replaced by one) is refused
      if ((await realpath(dir)) !== dir) throw new OutputError(rel === "" ? "GX_OUTPUT_DIR was replaced by a symlink" : `output ${rel} is not a regular file`);
      entries = await readdir(dir, { withFileTypes: true, encoding: "buffer" });
    } catch (err) {
      if (err instanceof OutputError) throw err;
      if (rel === "" && (err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new OutputError(`cannot read the output folder ${rel === "" ? "GX_OUTPUT_DIR" : rel}: ${errorText(err)}`);
    }
    for (const entry of entries) {
      let base: string;
      try {
        base = utf8.decode(entry.name);
      } catch {
        throw new OutputError(`output ${shownName(`${rel === "" ? "" : `${rel}/`}${entry.name.toString("latin1")}`)}: the name is not valid UTF-8`);
      }
      const name = rel === "" ? base : `${rel}/${base}`;
      const problem = namePathProblem(name);
      if (problem) throw new OutputError(`output ${shownName(name)}: the name ${problem}`);
      const stat = await lstat(path.join(dir, base)).catch((err: unknown) => {
        throw new OutputError(`output ${name} cannot be read: ${errorText(err)}`);
      });
      if (stat.isDirectory()) {
        folderCount += 1;
        if (folderCount > MAX_OUTPUT_FOLDERS) throw new OutputError(`the workload wrote more than ${MAX_OUTPUT_FOLDERS} folders into GX_OUTPUT_DIR`);
        folders.push(name);
      } else if (stat.isFile()) {
        files.push(name);
        if (files.length > maxFiles) throw new OutputError(`the workload wrote more than ${maxFiles} output files (at most ${maxFiles})`);
      } else {
        throw new OutputError(`output ${name} is not a regular file`);
      }
    }
  }
  const outputs: ManifestEntry[] = [];
  for (const name of files) outputs.push({ name, ...(await hashOutput(realOutputDir, name)) });
  return outputs;
}

/** sha256 and size of one output, opened with {@link openUnder}. Throws {@link OutputError}. */
export async function hashOutput(realOutputDir: string, name: string): Promise<{ sha256: string; sizeBytes: number }> {
  let file;
  try {
    file = await openUnder(realOutputDir, name);
  } catch (err) {
    const message = errorText(err);
    if (/not a regular file/.test(message)) throw new OutputError(`output ${name} is not a regular file`);
    if (/not inside/.test(message)) throw new OutputError(`output ${name} is not inside GX_OUTPUT_DIR`);
    throw new OutputError(`output ${name} cannot be read: ${message}`);
  }
  try {
    return await sha256Handle(file.handle);
  } finally {
    await file.handle.close();
  }
}
