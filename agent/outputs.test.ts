import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { collectOutputs } from "./outputs";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("collectOutputs", () => {
  let root: string;
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    root = await realpath(await mkdtemp(path.join(os.tmpdir(), "gx-collect-")));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));
  beforeEach(async () => {
    dir = path.join(root, `o${n++}`);
    await mkdir(dir);
  });

  it("lists files in subfolders with /-separated names, their sha256 and size", async () => {
    await mkdir(path.join(dir, "sub", "deeper"), { recursive: true });
    await mkdir(path.join(dir, "empty"));
    await writeFile(path.join(dir, "result"), "42\n");
    await writeFile(path.join(dir, "sub", "a.txt"), "alpha");
    await writeFile(path.join(dir, "sub", "deeper", "é.bin"), "");
    const outputs = await collectOutputs(dir);
    expect(outputs.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "result", sha256: sha("42\n"), sizeBytes: 3 },
      { name: "sub/a.txt", sha256: sha("alpha"), sizeBytes: 5 },
      { name: "sub/deeper/é.bin", sha256: sha(""), sizeBytes: 0 },
    ]);
  });

  it("is empty for an empty folder", async () => {
    await mkdir(path.join(dir, "nothing"));
    await expect(collectOutputs(dir)).resolves.toEqual([]);
  });

  it("refuses symlinks (to files or folders), FIFOs and sockets anywhere", async () => {
    const outside = path.join(root, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, "secret"), "s");
    await mkdir(path.join(dir, "sub"));
    await symlink(path.join(outside, "secret"), path.join(dir, "sub", "link"));
    await expect(collectOutputs(dir)).rejects.toThrow("output sub/link is not a regular file");

    await rm(path.join(dir, "sub", "link"));
    await symlink(outside, path.join(dir, "sub", "folder"));
    await expect(collectOutputs(dir)).rejects.toThrow("output sub/folder is not a regular file");

    await rm(path.join(dir, "sub", "folder"));
    execFileSync("mkfifo", [path.join(dir, "pipe")]);
    await expect(collectOutputs(dir)).rejects.toThrow("output pipe is not a regular file");

    await rm(path.join(dir, "pipe"));
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path.join(dir, "sock"), r));
    try {
      await expect(collectOutputs(dir)).rejects.toThrow("output sock is not a regular file");
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("refuses GX_OUTPUT_DIR replaced by a symlink, and takes it deleted as no output", async () => {
    const elsewhere = path.join(root, "elsewhere");
    await mkdir(elsewhere, { recursive: true });
    await writeFile(path.join(elsewhere, "id_rsa"), "key");
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    await expect(collectOutputs(dir)).rejects.toThrow("GX_OUTPUT_DIR was replaced by a symlink");
    await rm(dir);
    await expect(collectOutputs(dir)).resolves.toEqual([]);
  });

  it("refuses names that fail the name check and names that are not UTF-8", async () => {
    await writeFile(path.join(dir, "a\\b"), "x");
    await expect(collectOutputs(dir)).rejects.toThrow('output "a\\\\b": the name contains a backslash');
    await rm(path.join(dir, "a\\b"));
    await writeFile(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff])]), "x");
    await expect(collectOutputs(dir)).rejects.toThrow(/not valid UTF-8/);
  });

  it("refuses more than the most files", async () => {
    for (let i = 0; i < 4; i++) await writeFile(path.join(dir, `f${i}`), "x");
    await expect(collectOutputs(dir, 4)).resolves.toHaveLength(4);
    await writeFile(path.join(dir, "f4"), "x");
    await expect(collectOutputs(dir, 4)).rejects.toThrow("the workload wrote more than 4 output files (at most 4)");
  });
});
