/** Unit tests sit beside the code; integration and e2e tests under api/test share real Postgres and Redis. */
const swc = [
  "@swc/jest",
  {
    jsc: {
      parser: { syntax: "typescript", decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: "es2022",
      keepClassNames: true,
    },
    module: { type: "commonjs" },
  },
];
// the SDK by its package name, from its sources (as its examples and the web app import it)
const moduleNameMapper = { "^@gpu-exchange/sdk$": "<rootDir>/sdk/src/index.ts", "^@gpu-exchange/sdk/node$": "<rootDir>/sdk/src/node/index.ts" };
const common = { testEnvironment: "node", transform: { "^.+\\.ts$": swc }, setupFiles: ["reflect-metadata"], moduleNameMapper };
module.exports = {
  testTimeout: 30000,
  // On a 2-core machine jest runs every file in its own process (in band), and after the last test hardhat's native
  // EDR providers (the in-process dev chains) can keep that process alive with no JavaScript handle left: exit then.
  forceExit: true,
  projects: [
    // pure modules and services with in-memory ports, beside the code: no Postgres, Redis or chain (npm run test:unit)
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/{pricing,matching,indexer,agent}/**/*.test.ts", "<rootDir>/api/**/*.test.ts", "<rootDir>/sdk/src/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/api/test/"],
    },
    // real Postgres and Redis (a database per test file, copied from a migrated template), the in-process EVM
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/api/test/**/*.test.ts", "<rootDir>/{contracts,scripts}/**/*.test.ts", "<rootDir>/sdk/test/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "\\.fault\\.test\\.ts$"],
      globalSetup: "<rootDir>/api/test/global-setup.ts",
    },
    // dependencies stopped and started under load: each file starts its own Postgres cluster and Redis on free ports
    { ...common, displayName: "faults", testMatch: ["<rootDir>/api/test/faults/**/*.fault.test.ts"] },
  ],
};
