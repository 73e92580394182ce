import type { Router } from "express";
import express from "express";
import type { ChainHealthView } from "../../indexer";

export type Probe = () => Promise<void>;

function withTimeout(probe: Probe, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    probe().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/**
 * /healthz: the process answers. /readyz: every dependency answers within a second (503 naming those that do not).
 * Dependencies named in `degradeOnly` (the chain node: reads and submissions go on without it) are reported the
 * same way, with since when, but leave the instance ready: `status: "degraded"` and 200.
 */
export function healthRoutes(probes: Record<string, Probe>, degradeOnly: ReadonlySet<string> = new Set()): Router {
  const router = express.Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const results = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe, 1000);
          return [name, "ok"] as const;
        } catch (e) {
          return [name, `unreachable: ${(e as Error).message.slice(0, 200)}`] as const;
        }
      }),
    );
    const failing = results.filter(([, r]) => r !== "ok").map(([name]) => name);
    const ready = failing.every((name) => degradeOnly.has(name));
    const status = !ready ? "not ready" : failing.length > 0 ? "degraded" : "ready";
    res.status(ready ? 200 : 503).json({ status, checks: Object.fromEntries(results) });
  });
  return router;
}

/**
 * The chain node as a readiness probe, from what this process's calls to it found (the indexer's, or a monitor's):
 * fails with since when and why while the node does not answer. Before any call has been made, `check` asks it.
 */
export function chainProbe(health: () => ChainHealthView | undefined, check?: () => Promise<unknown>): Probe {
  return async () => {
    let h = health();
    if ((!h || h.reachable === null) && check) {
      await check();
      h = health();
    }
    if (h?.reachable === false) throw new Error(`since ${h.unreachableSince?.toISOString() ?? "?"}: ${h.error ?? "no answer"}`);
  };
}
