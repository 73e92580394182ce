import "reflect-metadata";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { lexicographicSortSchema, printSchema } from "graphql";
import { createSchema } from "../graphql/schema";

const HEADER = "# Emitted from the code by `npm run schema:emit`; do not edit. `npm run schema:check` fails when it is stale.\n\n";

/** `schema:emit` writes schema.graphql; `schema:check` (with --check) exits 1 when the committed file differs. */
async function emit(): Promise<void> {
  const text = HEADER + printSchema(lexicographicSortSchema(await createSchema())) + "\n";
  const target = resolve("schema.graphql");
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      current = "";
    }
    if (current !== text) {
      console.error("schema.graphql is stale: run `npm run schema:emit` and commit it");
      process.exit(1);
    }
    console.log("schema.graphql is up to date");
    return;
  }
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}

emit().catch((err) => {
  console.error(err);
  process.exit(1);
});
