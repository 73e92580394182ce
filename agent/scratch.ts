import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readlink, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { type ScratchLayout, scratchLayout } from "./workload-protocol";

/** The scratch folder of an assignment: `<workDir>/<assignment id>` with characters other than [A-Za-z0-9_.-] made `_`. */
export function scratchDirOf(workDir: string, assignmentId: string): string {
  const name = assignmentId.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_");
  return path.join(workDir, name);
}

/**
 * Creates a fresh scratch folder with checkpoints/, inputs/ and outputs/ (mode 0700), replacing any leftover, and returns
 * its layout with real paths (symlinks of the work dir resolved), which later checks compare against.
 */
export async function prepareScratch(dir: string): Promise<ScratchLayout> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const layout = scratchLayout(await realpath(dir));
  await mkdir(layout.checkpointDir, { mode: 0o700 });
  await mkdir(layout.inputDir, { mode: 0o700 });
  await mkdir(layout.outputDir, { mode: 0o700 });
  return layout;
}

/** A regular file opened inside a folder the workload can write to. */
export interface OpenedFile {
  handle: FileHandle;
  /** A path that reads this very file (`/proc/self/fd/N` on Linux), whatever happens to its name. */
  readPath: string;
  sizeBytes: number;
}

/**
 * Opens `name` in `realDir` for reading, refusing anything that is not a regular file right there: symlinks
 * (the last component is opened with O_NOFOLLOW), FIFOs and devices, and files reached through a folder
 * swapped for a symlink (the opened file's real path must lie in `realDir`). Throws with the reason.
 */
export async function openInside(realDir: string, name: string): Promise<OpenedFile> {
  return openChecked(realDir, name, (real) => path.dirname(real) === realDir, `${name} is not inside ${realDir}`);
}

/**
 * Opens `relPath` (a `/`-separated path already checked to have no `.`, `..` or empty component) under `realRoot`,
 * refusing anything but a regular file reached through real folders: the last component is opened with O_NOFOLLOW,
 * and the opened file's real path must be exactly `realRoot/relPath`, so a symlink anywhere on the way (even one
 * swapped in after a check) is refused. Throws with the reason.
 */
export async function openUnder(realRoot: string, relPath: string): Promise<OpenedFile> {
  const expected = path.join(realRoot, ...relPath.split("/"));
  return openChecked(realRoot, relPath, (real) => real === expected, `${relPath} is not inside ${realRoot}`);
}

async function openChecked(realDir: string, name: string, inside: (realPath: string) => boolean, outside: string): Promise<OpenedFile> {
  const file = path.join(realDir, name);
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw new Error(`${name} is not a regular file`);
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${name} is not a regular file`);
    const procPath = `/proc/self/fd/${handle.fd}`;
    const real = await readlink(procPath).then(
      (p) => ({ real: p, readPath: procPath }),
      async () => ({ real: await realpath(file), readPath: file }),
    );
    if (!inside(real.real)) throw new Error(outside);
    return { handle, readPath: real.readPath, sizeBytes: stat.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
