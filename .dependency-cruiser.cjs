/**
 * Architecture rules, checked by dependency-cruiser:
 *   npx depcruise api pricing matching bench scripts ormconfig.ts --config .dependency-cruiser.cjs
 * (add indexer agent contracts to the list when they exist; the rules already cover them)
 *
 * Layers: api/graphql -> api/services -> {api/db, api/queues, pricing, matching}; matching -> pricing. The
 * infrastructure loops (api/queues: BullMQ queues; api/pubsub: outbox relay and event fan-out; api/chain: the
 * indexer, settlement sender and chain watchers) sit beside services and are wired by api/bin.
 * Paths are relative to the repository root. `import type` edges are recorded (tsPreCompilationDeps)
 * and count as dependencies everywhere, except where a rule says otherwise.
 */

/** Every dependency type that means "a package from node_modules". */
const NPM = ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg", "npm-unknown"];
const TEST_FILE = "(^api/test/|\\.test\\.ts$)";
const PURE = "^(pricing|matching)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // ---------------------------------------------------------------- everywhere
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles anywhere (type-only imports included). Break the cycle by moving the shared piece down a layer.",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "Every import must resolve; an unresolved import would slip past all the rules below.",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "no-production-to-test",
      severity: "error",
      comment: "Production code must not import test files or api/test helpers.",
      from: { pathNot: TEST_FILE },
      to: { path: TEST_FILE },
    },
    {
      name: "no-import-of-entry-points",
      severity: "error",
      comment: "*/bin/ holds entry points; nothing imports them (tests excepted). Put shared start-up code in api/app*.ts.",
      from: { pathNot: `^(api|agent|indexer)/bin/|${TEST_FILE}` },
      to: { path: "^(api|agent|indexer)/bin/" },
    },

    // ---------------------------------------------------------------- pure engines
    {
      name: "pure-engines-only-import-themselves",
      severity: "error",
      comment: "pricing/ and matching/ are pure: they import only pricing/ and matching/ code.",
      from: { path: PURE },
      to: { pathNot: `${PURE}|(^|/)node_modules/`, dependencyTypesNot: ["core"] },
    },
    {
      name: "pricing-not-to-matching",
      severity: "error",
      comment: "matching may use pricing, never the other way round.",
      from: { path: "^pricing/" },
      to: { path: "^matching/" },
    },
    {
      name: "pure-engines-no-npm",
      severity: "error",
      comment: "pricing/ and matching/ use no npm packages (their *.test.ts files may use fast-check, see next rule).",
      from: { path: PURE, pathNot: "\\.test\\.ts$" },
      to: { dependencyTypes: NPM },
    },
    {
      name: "pure-engine-tests-only-fast-check",
      severity: "error",
      comment: "Tests of pricing/ and matching/ may import fast-check (and @jest/globals), no other npm package.",
      from: { path: `${PURE}.*\\.test\\.ts$` },
      to: { dependencyTypes: NPM, pathNot: "(^|/)node_modules/(fast-check|@jest/globals)/" },
    },
    {
      name: "pure-engines-no-node-core",
      severity: "error",
      comment: "pricing/ and matching/ (non-test) import no Node core module: no I/O, no clock, no randomness.",
      from: { path: PURE, pathNot: "\\.test\\.ts$" },
      to: { dependencyTypes: ["core"] },
    },

    // ---------------------------------------------------------------- indexer / agent
    {
      name: "indexer-not-to-api",
      severity: "error",
      comment: "indexer/ is a separate process and must not import api/.",
      from: { path: "^indexer/" },
      to: { path: "^api/" },
    },
    {
      name: "indexer-core-without-ethers",
      severity: "error",
      comment: "indexer/'s core is pure behind ports: ethers (or any chain client) only in indexer/adapters/.",
      from: { path: "^indexer/", pathNot: "^indexer/adapters/" },
      to: { path: "(^|/)node_modules/(ethers|pg|ioredis|typeorm)/" },
    },
    {
      name: "agent-not-to-api-or-indexer",
      severity: "error",
      comment: "agent/ (provider CLI) may use contracts/, pricing/, matching/, never api/ or indexer/.",
      from: { path: "^agent/" },
      to: { path: "^(api|indexer)/" },
    },

    // ---------------------------------------------------------------- sdk (and the gx CLI on it)
    {
      name: "sdk-only-contract",
      severity: "error",
      comment: "sdk/ depends on nothing of the server but the contract and schema (through its generated documents); its tests may start the server.",
      from: { path: "^sdk/", pathNot: "(^sdk/test/|\\.test\\.ts$)" },
      to: { path: "^(api|agent|indexer|pricing|matching|contracts|bench|scripts)/" },
    },
    {
      name: "sdk-core-browser-safe",
      severity: "error",
      comment: "sdk/src outside node/ and cli/ runs in browsers: no Node core module and no Node-only package (ws, ethers' key files, commander). Put such code in sdk/src/node/.",
      from: { path: "^sdk/src/", pathNot: "(^sdk/src/(node|cli)/|\\.test\\.ts$)" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "sdk-core-no-node-packages",
      severity: "error",
      comment: "sdk/src outside node/ and cli/ runs in browsers: ws, ethers and commander are for the Node entry and the CLI.",
      from: { path: "^sdk/src/", pathNot: "(^sdk/src/(node|cli)/|\\.test\\.ts$)" },
      to: { path: "(^|/)node_modules/(ws|ethers|commander)/" },
    },
    {
      name: "sdk-core-not-to-node-entry",
      severity: "error",
      comment: "The browser-safe core never imports sdk/src/node or the CLI.",
      from: { path: "^sdk/src/", pathNot: "(^sdk/src/(node|cli)/|\\.test\\.ts$)" },
      to: { path: "^sdk/src/(node|cli)/" },
    },

    // ---------------------------------------------------------------- web (the browser app)
    {
      name: "web-only-through-the-sdk",
      severity: "error",
      comment: "web/ talks to the API only through @gpu-exchange/sdk's browser core: nothing of the server, the agent, the SDK's Node entry or CLI.",
      from: { path: "^web/" },
      to: { path: "^(api|agent|indexer|pricing|matching|contracts|bench|scripts)/|^sdk/src/(node|cli)/" },
    },
    {
      name: "web-browser-only",
      severity: "error",
      comment: "web/src runs in browsers: no Node core module.",
      from: { path: "^web/src/" },
      to: { dependencyTypes: ["core"] },
    },

    // ---------------------------------------------------------------- api layers
    {
      name: "services-not-to-transport",
      severity: "error",
      comment: "api/services sits below the transports: it must not import api/graphql, api/http or api/bin.",
      from: { path: "^api/services/" },
      to: { path: "^api/(graphql|http|bin)/" },
    },
    {
      name: "db-is-the-bottom-layer",
      severity: "error",
      comment: "api/db must not import api/services, api/graphql, api/queues, api/pubsub, api/chain (nor api/http, api/bin, api/relay).",
      from: { path: "^api/db/" },
      to: { path: "^api/(services|graphql|queues|pubsub|chain|http|bin|relay)/" },
    },
    {
      name: "queues-not-to-graphql",
      severity: "error",
      comment: "api/queues, api/pubsub and api/chain must not import api/graphql.",
      from: { path: "^api/(queues|pubsub|chain)/" },
      to: { path: "^api/graphql/" },
    },
    {
      name: "graphql-not-to-db",
      severity: "error",
      comment: "Resolvers never touch the DataSource, entities or repositories; they go through api/services. Mappers may name the row types (import type).",
      from: { path: "^api/graphql/" },
      to: { path: "^api/db/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "graphql-not-to-typeorm",
      severity: "error",
      comment: "Resolvers do not use TypeORM; transactions and queries live in api/services.",
      from: { path: "^api/graphql/" },
      to: { path: "(^|/)node_modules/typeorm/" },
    },
    {
      name: "entities-not-to-graphql",
      severity: "error",
      comment: "Entities are persistence only: no type-graphql / graphql decorators or types in api/db/entities.",
      from: { path: "^api/db/entities/" },
      to: { path: "(^|/)node_modules/(type-graphql|graphql|graphql-scalars)/" },
    },
    {
      name: "infra-clients-only-at-the-edges",
      severity: "error",
      comment:
        "Only entry points and infrastructure modules construct Redis/Postgres clients (ioredis, pg). " +
        "Everyone else receives them as parameters; `import type` from them is allowed for that.",
      from: {
        pathNot: "^(api/(bin|db|queues|pubsub|chain|http|test)/|api/app[^/]*\\.ts$|ormconfig\\.ts$|bench/|scripts/)",
      },
      to: {
        path: "(^|/)node_modules/(@types/)?(ioredis|pg)/",
        dependencyTypesNot: ["type-only"],
      },
    },
  ],

  options: {
    doNotFollow: { path: "(^|/)node_modules/" },
    exclude: { path: "(^|/)(dist|coverage)/|^contracts/(out|cache|lib|artifacts)/" },
    tsConfig: { fileName: "tsconfig.json" },
    // Parse the TypeScript source itself, so `import type` / type-only imports are seen and labelled "type-only".
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["require", "node", "default", "types"],
      mainFields: ["main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
