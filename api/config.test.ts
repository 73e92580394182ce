import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, environment, loadConfig, settlementConfig } from "./config";

describe("loadConfig", () => {
  it("has local defaults", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(4000);
    expect(c.DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5432/gpu_exchange");
    expect(c.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(c.PUBLIC_URL).toBe("http://localhost:4000");
    expect(c.jwtSecretGenerated).toBe(true);
    expect(c.JWT_SECRET).toHaveLength(64);
  });
  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ REDIS_URL: "nope" }, "REDIS_URL"],
    [{ NODE_ENV: "production", PUBLIC_URL: "https://x.io" }, "JWT_SECRET"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ ADMIN_USER: "admin" }, "ADMIN_PASSWORD"],
    [{ OGPU_USD_RATE: "0" }, "OGPU_USD_RATE"],
    [{ OGPU_USD_RATE: "1e3" }, "OGPU_USD_RATE"],
    [{ USD_RATE_MAX_AGE_SECONDS: "1" }, "USD_RATE_MAX_AGE_SECONDS"],
    [{ GRAPHQL_MAX_COST: "5" }, "GRAPHQL_MAX_COST"],
    [{ WS_MAX_CONNECTIONS_PER_ADDRESS: "0" }, "WS_MAX_CONNECTIONS_PER_ADDRESS"],
    [{ WS_IDLE_TIMEOUT_SECONDS: "0" }, "WS_IDLE_TIMEOUT_SECONDS"],
    [{ TRUST_PROXY_HOPS: "-1" }, "TRUST_PROXY_HOPS"],
    [{ TRUST_PROXY_HOPS: "11" }, "TRUST_PROXY_HOPS"],
    [{ SETTLER_PRIVATE_KEY: `0x${"1".repeat(64)}`, SETTLER_KEY_FILE: "/etc/gx/settler.key" }, "SETTLER_KEY_FILE"],
    [{ SETTLER_KEY_FILE: "/etc/gx/settler.key", SETTLER_SIGNER_URL: "http://127.0.0.1:8550" }, "SETTLER_KEY_FILE"],
    [{ SETTLER_KEY_PASSWORD_FILE: "/etc/gx/settler.password" }, "SETTLER_KEY_PASSWORD_FILE"],
    [{ SETTLER_SIGNER_URL: "ftp://signer" }, "SETTLER_SIGNER_URL"],
    [{ SETTLER_ADDRESS: "0x12" }, "SETTLER_ADDRESS"],
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });
  it("has the abuse limits' defaults: query cost, WebSocket connections per address and idle time, no trusted proxy", () => {
    const c = loadConfig({});
    expect([c.GRAPHQL_MAX_COST, c.WS_MAX_CONNECTIONS_PER_ADDRESS, c.WS_IDLE_TIMEOUT_SECONDS, c.TRUST_PROXY_HOPS]).toEqual([100_000, 200, 30, 0]);
  });
  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(4000);
  });
  it("has a standing OGPU/USD rate outside production only: production quotes no rate it was not given", () => {
    expect(loadConfig({}).OGPU_USD_RATE).toBe("0.5");
    const production = { NODE_ENV: "production", PUBLIC_URL: "https://x.io", JWT_SECRET: "x".repeat(32) };
    expect(loadConfig(production).OGPU_USD_RATE).toBeUndefined();
    expect(loadConfig({ ...production, OGPU_USD_RATE: "0.42" }).OGPU_USD_RATE).toBe("0.42");
    expect(loadConfig({}).USD_RATE_MAX_AGE_SECONDS).toBe(3600);
  });
  it("reads a .env file in the working directory, the environment winning over it", () => {
    const dir = mkdtempSync(join(tmpdir(), "gx-env-"));
    try {
      expect(environment(dir, { PORT: "4100" })).toEqual({ PORT: "4100" });
      writeFileSync(join(dir, ".env"), "# comment\nPORT=4200\nLOG_LEVEL=warn\n");
      expect(environment(dir, { PORT: "4100" })).toEqual({ PORT: "4100", LOG_LEVEL: "warn" });
      expect(loadConfig(environment(dir, {})).PORT).toBe(4200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("settlementConfig", () => {
  it("gives the API and the indexer one settlement group, from the settings as set", () => {
    const c = loadConfig({ SETTLEMENT_BATCH_SIZE: "7", SETTLEMENT_MAX_AGE_SECONDS: "9", FEE_BPS: "25", SETTLEMENT_DROP_AFTER_SECONDS: "120", SETTLEMENT_RETRY_BASE_SECONDS: "4", SETTLEMENT_RETRY_MAX_SECONDS: "600" });
    expect(settlementConfig(c)).toEqual({ batchSize: 7, maxAgeMs: 9000, feeBps: 25, dropAfterMs: 120_000, retryBaseMs: 4000, retryMaxMs: 600_000 });
  });
});
