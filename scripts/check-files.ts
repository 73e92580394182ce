/**
 * `npm run files:check` (part of `npm run check`): no source file over 400 lines, and the error-code table written
 * once (only api/services/errors.ts maps codes to HTTP statuses). Generated files are not counted. A file over the
 * limit in another area being worked on may sit in ALLOWED with why; an entry fails once its file is back under the
 * limit, so the list only shrinks.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const MAX_LINES = 400;
const SOURCE = /\.(ts|tsx|js|cjs|mjs|sol|sql)$/;
/** Written by tools, not by hand: the GraphQL client types (npm run sdk:codegen) and the compiled contracts. */
const GENERATED = /^(sdk\/src\/generated\/|contracts\/(artifacts|abi)\/)|\.d\.ts$/;
/** Over the limit today, to be split by the people changing these areas now; remove an entry when its file is split. */
const ALLOWED: Record<string, string> = {};
const ERROR_TABLE = "api/services/errors.ts";
/** Copies of the table where the API cannot be imported, each kept equal to it by a test. */
const ERROR_TABLE_COPIES: Record<string, string> = {
  "sdk/src/errors.ts": "the SDK's, for clients (the SDK imports nothing of the API); sdk/src/errors.test.ts keeps it equal",
};

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" })
  .split("\n")
  .filter((f) => SOURCE.test(f) && !GENERATED.test(f));
const problems: string[] = [];
for (const file of files) {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    continue; // deleted in the work tree, not yet in the index
  }
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_LINES && !(file in ALLOWED)) problems.push(`${file}: ${lines} lines; at most ${MAX_LINES} (split it into files that each hold one thing)`);
  if (lines <= MAX_LINES && file in ALLOWED) problems.push(`${file}: ${lines} lines, under the limit: remove its entry from ALLOWED in scripts/check-files.ts`);
  if (file !== ERROR_TABLE && !(file in ERROR_TABLE_COPIES) && /\bhttpStatus\s*:/.test(text) && !file.endsWith(".test.ts")) problems.push(`${file}: maps error codes to HTTP statuses; the one table is ${ERROR_TABLE}`);
}
for (const file of Object.keys(ALLOWED)) if (!files.includes(file)) problems.push(`${file}: in ALLOWED but not in the repository: remove its entry`);
if (problems.length > 0) {
  process.stderr.write(`${problems.join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`files: ${files.length} source files, none over ${MAX_LINES} lines (${Object.keys(ALLOWED).length} allowed for now), one error table\n`);
