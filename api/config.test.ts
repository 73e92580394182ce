import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, environment, loadConfig } from "./config";

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
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
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
