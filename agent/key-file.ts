import { readFile, stat } from "node:fs/promises";
import { AgentConfigError } from "./config";

/**
 * Reads the API key from a file the way ssh reads private keys: refused when group or others may read or
 * write it (mode & 0o077), empty, or not a regular file. Surrounding whitespace is trimmed.
 */
export async function readApiKeyFile(file: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    throw new AgentConfigError("--api-key-file", `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!info.isFile()) throw new AgentConfigError("--api-key-file", `${file} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    throw new AgentConfigError(
      "--api-key-file",
      `${file} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); make it private with: chmod 600 ${file}`,
    );
  }
  const key = (await readFile(file, "utf8")).trim();
  if (key.length === 0) throw new AgentConfigError("--api-key-file", `${file} is empty`);
  return key;
}
