import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..");

/** Lints `code` with the project's own eslint.config.mjs, as if it were the file at `path`: the messages' rule ids and texts. */
function lint(path: string, code: string): { ruleId: string | null; message: string }[] {
  const run = spawnSync(process.execPath, [join(ROOT, "node_modules/eslint/bin/eslint.js"), "--format", "json", "--stdin", "--stdin-filename", path], {
    cwd: ROOT,
    input: code,
    encoding: "utf8",
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return result.messages;
}

const SQL_RULE = "no SQL in api/services";

describe("the rule that keeps SQL out of api/services", () => {
  it.each([
    ["a query call", `export async function f(db: { query(s: string): Promise<unknown> }) { return db.query("x"); }`],
    ["SQL in a template", "export const q = `SELECT id FROM jobs WHERE id = $1`;"],
    ["SQL in a string", `export const q = "UPDATE jobs SET status = 'FAILED'";`],
    ["an upsert", "export const q = `INSERT INTO accounts (address) VALUES ($1) ON CONFLICT (address) DO NOTHING`;"],
    ["a statement run by the query helpers", `import { readQuery } from "../db/query"; export const f = (db: never) => readQuery(db, "x", []);`],
    ["the ORM's persistence", `export const f = (db: { getRepository(e: unknown): unknown }) => db.getRepository(Object);`],
  ])("refuses %s in a service", (_what, code) => {
    expect(lint("api/services/probe.ts", code).filter((m) => m.message.includes(SQL_RULE))).not.toHaveLength(0);
  });

  it("lets the same code stand in a repository, and lets services call repositories", () => {
    const sql = "export const q = `SELECT id FROM jobs WHERE id = $1`;";
    expect(lint("api/db/repositories/probe.ts", sql).filter((m) => m.message.includes(SQL_RULE))).toEqual([]);
    const call = `import { jobStatus } from "../db/repositories/job-read.repository"; export const f = (db: never) => jobStatus(db, "x");`;
    expect(lint("api/services/probe.ts", call)).toEqual([]);
  });

  it("holds for every service file as it stands (npm run lint)", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "node_modules/eslint/bin/eslint.js"), "--format", "json", "api/services"], { cwd: ROOT, encoding: "utf8" });
    const files = JSON.parse(run.stdout) as { filePath: string; messages: { message: string }[] }[];
    expect(files.length).toBeGreaterThan(30);
    expect(files.filter((f) => f.messages.some((m) => m.message.includes(SQL_RULE))).map((f) => f.filePath)).toEqual([]);
  });
});
