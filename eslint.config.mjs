// ESLint flat config. Syntax-only typescript-eslint (no type information), so `eslint .` stays fast.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

const TS = ["**/*.ts", "**/*.mts", "**/*.cts"];
const TESTS = ["**/*.test.ts", "api/test/**", "sdk/test/**"];

/** Command-line programs: printing to the terminal is their job. */
const CLIS = ["api/bin/**", "agent/**", "bench/**", "scripts/**", "sdk/src/cli/**"];

/** The only places that read the environment; everything else gets a typed config passed in. */
const ENV_READERS = [
  "api/config.ts",
  "api/bin/**",
  "agent/bin/**",
  "agent/cli*.ts",
  "sdk/src/cli/gx.ts",
  "contracts/*-main.ts",
  "bench/**",
  "scripts/**",
  "ormconfig.ts",
  "jest.config.*",
  ...TESTS,
];

/** Pure engines: same input, same output. No clock, no randomness. */
const PURE_ENGINES = ["pricing/**", "matching/**"];

/** Services call repositories: SQL and the ORM's persistence live in api/db/repositories, never in api/services. */
const SERVICES = ["api/services/**"];
const SQL_MESSAGE = "no SQL in api/services: put the statement in a function of api/db/repositories/ and call that.";

const ENV_MESSAGE = "Read configuration in api/config.ts (or an entry point) and pass it in; don't read process.env here.";
const PURE_MESSAGE = "pricing/ and matching/ are pure: take the time or random values as parameters.";

export default defineConfig([
  globalIgnores([
    "**/node_modules/",
    "**/dist/",
    "coverage/",
    "contracts/abi/",
    // the SDK's typed documents, generated from contract/ and schema.graphql (npm run sdk:codegen)
    "sdk/src/generated/",
    // generated contract build output (Foundry / Hardhat / TypeChain), if contracts/ appears
    "contracts/{out,cache,lib,artifacts}/",
    // root-level JS config files (jest.config.js, this file, .dependency-cruiser.cjs)
    "*.js",
    "*.cjs",
    "*.mjs",
  ]),

  {
    files: TS,
    extends: [js.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-console": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      // process.env, process["env"], const { env } = process
      "no-restricted-properties": ["error", { object: "process", property: "env", message: ENV_MESSAGE }],
      // import { env } from "node:process"
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "process", importNames: ["env"], message: ENV_MESSAGE },
            { name: "node:process", importNames: ["env"], message: ENV_MESSAGE },
          ],
        },
      ],
    },
  },

  {
    files: PURE_ENGINES,
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: `Math.random: ${PURE_MESSAGE}` },
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: `Date.now: ${PURE_MESSAGE}` },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date(): ${PURE_MESSAGE}` },
        { selector: "CallExpression[callee.name='Date']", message: `Date(): ${PURE_MESSAGE}` },
        { selector: "MemberExpression[object.name='performance'][property.name='now']", message: `performance.now: ${PURE_MESSAGE}` },
        {
          selector: "MemberExpression[object.name='crypto'][property.name=/^(randomUUID|getRandomValues)$/]",
          message: `crypto randomness: ${PURE_MESSAGE}`,
        },
      ],
    },
  },

  {
    files: SERVICES,
    ignores: TESTS,
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.property.name='query']", message: `.query(): ${SQL_MESSAGE}` },
        { selector: "CallExpression[callee.name=/^(updateReturning|readQuery)$/]", message: `a statement run here: ${SQL_MESSAGE}` },
        { selector: "CallExpression[callee.property.name=/^(createQueryBuilder|getRepository)$/]", message: `the ORM's persistence: ${SQL_MESSAGE}` },
        { selector: "TemplateElement[value.raw=/\\b(SELECT|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET|ON CONFLICT)\\b/]", message: `SQL text: ${SQL_MESSAGE}` },
        { selector: "Literal[value=/\\b(SELECT|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET|ON CONFLICT)\\b/]", message: `SQL text: ${SQL_MESSAGE}` },
      ],
    },
  },

  { files: CLIS, rules: { "no-console": "off" } },

  {
    files: ENV_READERS,
    rules: { "no-restricted-properties": "off", "no-restricted-imports": "off" },
  },

  { files: TESTS, rules: { "@typescript-eslint/no-explicit-any": "off" } },
]);
