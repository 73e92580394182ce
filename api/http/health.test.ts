import express from "express";
import type { AddressInfo } from "node:net";
import { ChainHealth } from "../../indexer";
import { chainProbe, healthRoutes } from "./health";

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

it("is not ready while the chain node does not answer, saying since when and why, and ready again once it does", async () => {
  let t = Date.parse("2025-01-01T00:00:00Z");
  const health = new ChainHealth(() => new Date(t));
  let up = false;
  const check = async () => {
    if (up) health.ok(5n);
    else health.failed(new Error("connect ECONNREFUSED 127.0.0.1:8545"));
  };
  const s = await serve({ postgres: async () => undefined, chain: chainProbe(() => health.view(), check) });
  const first = await fetch(`${s.base}/readyz`);
  expect(first.status).toBe(503);
  expect(((await first.json()) as any).checks.chain).toBe("unreachable: since 2025-01-01T00:00:00.000Z: connect ECONNREFUSED 127.0.0.1:8545");
  t += 5000;
  health.failed(new Error("request timeout"));
  expect(((await (await fetch(`${s.base}/readyz`)).json()) as any).checks.chain).toBe("unreachable: since 2025-01-01T00:00:00.000Z: request timeout");
  up = true;
  await check();
  const again = await fetch(`${s.base}/readyz`);
  expect(again.status).toBe(200);
  expect(((await again.json()) as any).checks.chain).toBe("ok");
  await s.close();
});
