import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CliError, EXIT } from "./exit-codes";

/** How gx signs in to one API: an API key, or a wallet's key file with the session it gave. */
export type Credentials =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "wallet"; address: string; keyFile: string; passwordFile?: string; session?: { token: string; address: string; expiresAt: string } };

/** The config file: the API used by default (the last logged in to) and the credentials per API URL. */
export interface GxConfig {
  api?: string;
  servers: Record<string, Credentials>;
}

/** Where the config lives: $GX_CONFIG, else $XDG_CONFIG_HOME/gx/config.json, else ~/.config/gx/config.json. */
export function configPath(env: { GX_CONFIG?: string; XDG_CONFIG_HOME?: string; HOME?: string }): string {
  if (env.GX_CONFIG) return env.GX_CONFIG;
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, ".config") : undefined);
  if (!base) throw new CliError(EXIT.BAD_INPUT, "no place for the config file: set GX_CONFIG or HOME");
  return join(base, "gx", "config.json");
}

/** Reads the config (empty when there is none). */
export async function readConfig(path: string): Promise<GxConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { servers: {} };
    throw new CliError(EXIT.FAILURE, `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<GxConfig>;
    return { api: parsed.api, servers: parsed.servers ?? {} };
  } catch {
    throw new CliError(EXIT.BAD_INPUT, `${path} is not JSON; fix or remove it`);
  }
}

/**
 * Writes the config with mode 0600 (it holds sessions and API keys) in a folder of mode 0700 if it makes one: to a
 * temporary file first, renamed over the old one, so a crash leaves the old file or the new, never half of one.
 */
export async function writeConfig(path: string, config: GxConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
