// Fails when src/generated/graphql.ts is not what GraphQL Code Generator makes of ../contract and ../schema.graphql
// now (a stale file, or an operation the schema no longer serves); prints the generator's output only then.
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const pkg = require.resolve("@graphql-codegen/cli/package.json");
const cli = path.join(path.dirname(pkg), require(pkg).bin["graphql-codegen-cjs"]);
const run = spawnSync(process.execPath, [cli, "--config", "codegen.ts", "--check"], { cwd: path.join(__dirname, ".."), encoding: "utf8" });
if (run.status !== 0) {
  process.stderr.write(`${run.stdout}${run.stderr}\nsdk/src/generated/graphql.ts is stale or an operation of contract/ no longer validates: run npm run sdk:codegen\n`);
  process.exit(run.status ?? 1);
}
