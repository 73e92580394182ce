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

  { files: CLIS, rules: { "no-console": "off" } },

  {
    files: ENV_READERS,
    rules: { "no-restricted-properties": "off", "no-restricted-imports": "off" },
  },

  { files: TESTS, rules: { "@typescript-eslint/no-explicit-any": "off" } },
]);
