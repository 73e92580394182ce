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
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": swc },
  testMatch: ["<rootDir>/{api,pricing,matching,indexer,contracts,agent,scripts}/**/*.test.ts"],
  globalSetup: "<rootDir>/api/test/global-setup.ts",
  setupFiles: ["reflect-metadata"],
  testTimeout: 30000,
};
