import express from "express";
import type { AddressInfo } from "node:net";
import { healthRoutes } from "./health";

async function serve(probes: Parameters<typeof healthRoutes>[0]) {
  const server = express().use(healthRoutes(probes)).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

describe("health routes", () => {
  it("is ready only when every dependency answers, naming those that do not", async () => {
    const s = await serve({ postgres: async () => undefined, redis: async () => Promise.reject(new Error("ECONNREFUSED")), slow: () => new Promise(() => undefined) });
    const res = await fetch(`${s.base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      checks: { postgres: "ok", redis: "unreachable: ECONNREFUSED", slow: "unreachable: no answer in 1000 ms" },
    });
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    await s.close();
  });
});
