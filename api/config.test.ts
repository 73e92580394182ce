import { ConfigError, loadConfig } from "./config";

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
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });
  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(4000);
  });
});
