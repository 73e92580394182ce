/**
 * `npm run build:web` (and `npm run build`, so `npm start`): builds the web app and GraphiQL (web/, Vite) into
 * dist/web, unless dist/web was built from the same inputs (web/, the SDK's sources and operations, the lockfile):
 * a rebuild costs tens of seconds on a small machine, and `npm start` must start in under a minute.
 * `--force` builds anyway.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** The repository: from dist/scripts when compiled, from scripts/ when run from its source. */
const ROOT = __dirname.includes(`${sep}dist${sep}`) ? join(__dirname, "..", "..") : join(__dirname, "..");
const OUT = join(ROOT, "dist", "web");
const STAMP = join(OUT, ".inputs-sha256");
const INPUTS = ["web", "sdk/src", "sdk/operations", "package-lock.json"];

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => e.name !== "node_modules" && !e.name.endsWith(".test.ts"))
    .flatMap((e) => files(join(path, e.name)));
}

/** The sha256 of every input file's path and bytes, in a fixed order. */
export function inputsHash(): string {
  const hash = createHash("sha256");
  for (const file of INPUTS.flatMap((p) => files(join(ROOT, p))).sort()) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file));
  return hash.digest("hex");
}

function main() {
  const want = inputsHash();
  if (!process.argv.includes("--force") && existsSync(STAMP) && readFileSync(STAMP, "utf8") === want && existsSync(join(OUT, "index.html"))) {
    console.log("web app: dist/web is up to date");
    return;
  }
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const run = spawnSync(process.execPath, [vite, "build", "--config", join(ROOT, "web", "vite.config.ts"), "--logLevel", "warn"], { cwd: ROOT, stdio: "inherit" });
  if (run.status !== 0) process.exit(run.status ?? 1);
  writeFileSync(STAMP, want);
  console.log("web app: built into dist/web");
}

if (require.main === module) main();
