import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { openInside, prepareScratch, scratchDirOf } from "./scratch";

describe("scratch folders", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "gx-scratch-"));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("creates private checkpoints/, inputs/ and outputs/ folders, replacing leftovers", async () => {
    const dir = scratchDirOf(work, "a/../1");
    expect(path.dirname(dir)).toBe(work);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "old"), "x");
    const layout = await prepareScratch(dir);
    for (const d of [layout.root, layout.checkpointDir, layout.inputDir, layout.outputDir]) expect((await stat(d)).mode & 0o777).toBe(0o700);
    await expect(stat(path.join(dir, "old"))).rejects.toThrow();
    expect(layout.resultFile).toBe(path.join(layout.outputDir, "result"));
  });

  it("opens regular files and refuses symlinks, FIFOs and swapped folders", async () => {
    const layout = await prepareScratch(path.join(work, "b"));
    await writeFile(path.join(layout.checkpointDir, "ok.json"), "{}");
    const opened = await openInside(layout.checkpointDir, "ok.json");
    expect(opened.sizeBytes).toBe(2);
    await opened.handle.close();

    const secret = path.join(work, "secret");
    await writeFile(secret, "host secret");
    await symlink(secret, path.join(layout.checkpointDir, "link.json"));
    await expect(openInside(layout.checkpointDir, "link.json")).rejects.toThrow();

    execFileSync("mkfifo", [path.join(layout.checkpointDir, "pipe")]);
    await expect(openInside(layout.checkpointDir, "pipe")).rejects.toThrow(/not a regular file/);

    const elsewhere = path.join(work, "elsewhere");
    await mkdir(elsewhere);
    await writeFile(path.join(elsewhere, "id_rsa"), "key");
    await rm(layout.checkpointDir, { recursive: true });
    await symlink(elsewhere, layout.checkpointDir);
    await expect(openInside(layout.checkpointDir, "id_rsa")).rejects.toThrow(/not inside/);
  });
});
