/** The filesystem adapter against a temp folder, through the behaviour every blob store shares. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFilesystemBlobStore } from "../../storage/filesystem-store";
import { describeBlobStore } from "../blob-store-behaviour";

jest.setTimeout(120_000);

describeBlobStore("filesystem", async () => {
  const root = mkdtempSync(join(tmpdir(), "gx-blobs-"));
  return { store: createFilesystemBlobStore({ root }), cleanup: async () => rmSync(root, { recursive: true, force: true }) };
});
