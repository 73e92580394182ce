import os from "node:os";
import type { Logger } from "pino";
import type { RegisteredNode } from "./api-types";
import { backoffMs, sleep } from "./backoff";
import { ApiError, type GraphqlClient, isAuthError } from "./client";
import { errorText } from "./error-text";
import type { GpuMetrics } from "./gpu-detect";
import type { GpuGroup } from "./gpu-groups";
import { type Loop, startLoop } from "./loop";
import { AGENT_VERSION } from "./version";

/** What RegisterNode sends. */
export interface NodeRegistration {
  name: string;
  region: string;
  gpus: GpuGroup[];
  cpuCores: number;
  ramGb: number;
  agentVersion: string;
}

/** The registration of this machine: its name, region and GPUs, with CPU cores and RAM from `os`. */
export function nodeRegistration(name: string, region: string, gpus: readonly GpuGroup[]): NodeRegistration {
  return {
    name,
    region,
    gpus: gpus.map(({ model, vramGb, count }) => ({ model, vramGb, count })),
    cpuCores: os.cpus().length,
    ramGb: Math.max(1, Math.round(os.totalmem() / 1024 ** 3)),
    agentVersion: AGENT_VERSION,
  };
}

/** Codes after which registering again cannot help. */
const FINAL_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT"]);

/**
 * Registers the node (idempotent by name for the provider) and returns its id. Network trouble and 5xx are
 * retried with backoff until `signal` aborts; UNAUTHENTICATED, FORBIDDEN and BAD_USER_INPUT are thrown.
 */
export async function registerNode(client: GraphqlClient, input: NodeRegistration, logger: Logger, signal?: AbortSignal): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const data = await client.request<RegisteredNode>("RegisterNode", { input }, { signal });
      logger.info({ nodeId: data.registerNode.id, name: data.registerNode.name, region: data.registerNode.region, gpus: input.gpus }, "node registered");
      return data.registerNode.id;
    } catch (err) {
      if (err instanceof ApiError && FINAL_CODES.has(err.code)) throw err;
      if (signal?.aborted) throw err;
      const waitMs = backoffMs(attempt, 2000, 60_000);
      logger.warn({ err: errorText(err), retryInS: Math.round(waitMs / 1000) }, "registration failed; retrying");
      await sleep(waitMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}

/** Sends Heartbeat every `intervalMs` with the GPU metrics `sample` returns (left out when undefined). */
export function startHeartbeats(options: {
  client: GraphqlClient;
  nodeId: string;
  intervalMs: number;
  sample: () => Promise<GpuMetrics | undefined>;
  logger: Logger;
  onFatal: (err: unknown) => void;
}): Loop {
  const { client, nodeId, logger } = options;
  return startLoop(
    async () => {
      const metrics = await options.sample();
      const data = await client.request<{ heartbeat: { status: string; serverTime: string } }>("Heartbeat", { nodeId, metrics: metrics ?? null });
      logger.debug({ status: data.heartbeat.status, metrics }, "heartbeat");
    },
    options.intervalMs,
    (err) => {
      if (isAuthError(err)) options.onFatal(err);
      else logger.warn({ err: errorText(err) }, "heartbeat failed");
    },
  );
}
