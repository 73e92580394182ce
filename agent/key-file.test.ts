import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readApiKeyFile } from "./key-file";

describe("readApiKeyFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gx-key-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads a private key file", async () => {
    const file = path.join(dir, "ok");
    await writeFile(file, "gx_live_abc\n", { mode: 0o600 });
    await chmod(file, 0o600);
    await expect(readApiKeyFile(file)).resolves.toBe("gx_live_abc");
  });

  it.each([0o640, 0o604, 0o644])("refuses mode %o", async (mode) => {
    const file = path.join(dir, `open-${mode}`);
    await writeFile(file, "k");
    await chmod(file, mode);
    await expect(readApiKeyFile(file)).rejects.toThrow(/--api-key-file: .*chmod 600/);
  });

  it("refuses a missing or empty file", async () => {
    await expect(readApiKeyFile(path.join(dir, "none"))).rejects.toThrow(/ENOENT/);
    const empty = path.join(dir, "empty");
    await writeFile(empty, "  \n", { mode: 0o600 });
    await chmod(empty, 0o600);
    await expect(readApiKeyFile(empty)).rejects.toThrow(/empty/);
  });
});
