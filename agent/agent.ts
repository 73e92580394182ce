import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { marketIdOf } from "../matching/market-id";
import { formatDecimal } from "../pricing/units";
import { type GraphqlClient, createGraphqlClient, isAuthError } from "./client";
import { AgentConfigError, type AgentConfig } from "./config";
import { loadContract } from "./contract";
import { errorText } from "./error-text";
import { type ExecFile, execFileText } from "./exec-file";
import { createContainerExecutor, createProcessExecutor, detectContainerEngine, type Executor, type HostEnv } from "./executors";
import { detectGpus, resolveGpus, sampleGpuMetrics } from "./gpu-detect";
import { largestGroup } from "./gpu-groups";
import { type Loop, startLoop } from "./loop";
import { nodeRegistration, registerNode, startHeartbeats } from "./node-session";
import { OfferManager } from "./offer-manager";
import { Runner } from "./runner";
import { createHttpTransfer, type Transfer } from "./transfer";
import { startWatchtowerMode } from "./watchtower-mode";

/** Seconds a stopping agent gives workloads to checkpoint, exit and upload. */
export const SHUTDOWN_GRACE_MS = 30_000;

/** What {@link startAgent} needs; the optional parts are built from the config when left out. */
export interface AgentDeps {
  config: AgentConfig;
  apiKey: string;
  logger: Logger;
  host: HostEnv;
  uid: number;
  gid: number;
  exec?: ExecFile;
  client?: GraphqlClient;
  transfer?: Transfer;
}

/** A started agent. */
export interface RunningAgent {
  nodeId: string;
  /** Resolves with the error when the agent cannot go on (the key was refused). */
  fatal: Promise<unknown>;
  /** Cancels the offer, stops the workloads (they may checkpoint), fails what is unfinished, and stops. */
  stop(): Promise<void>;
}

/**
 * Starts the agent: finds the GPUs, registers the node, fails assignments a previous run left behind, then
 * heartbeats, keeps the offer open and priced, and runs assignments. Throws AgentConfigError when the machine
 * does not fit the configuration (no GPUs, --offer-gpus too high, no container engine).
 */
export async function startAgent(deps: AgentDeps, signal?: AbortSignal): Promise<RunningAgent> {
  const { config, logger } = deps;
  const exec = deps.exec ?? execFileText;
  const { gpus: detected, cudaVersion } = await detectGpus(exec, logger);
  const resolved = resolveGpus(detected, config.declaredGpus, logger);
  const offered = largestGroup(resolved.groups);
  const gpuCount = config.offerGpus ?? offered.count;
  if (gpuCount > offered.count) {
    throw new AgentConfigError("--offer-gpus", `${gpuCount} is more than the ${offered.count} GPUs of ${offered.model} (${offered.vramGb} GB) on this node`);
  }
  logger.info({ source: resolved.source, groups: resolved.groups.map(({ model, vramGb, count }) => ({ model, vramGb, count })), cudaVersion, driver: detected[0]?.driver }, "GPUs");

  const executor = await buildExecutor(deps, exec, resolved.source === "detected");
  const client = deps.client ?? createGraphqlClient({ apiUrl: config.apiUrl, apiKey: deps.apiKey, operations: loadContract(), logger });
  const nodeId = await registerNode(client, nodeRegistration(config.nodeName, config.region, resolved.groups), logger, signal);
  const workDir = path.join(config.workDir, safeName(nodeId));
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  await failLeftovers(client, workDir, logger);

  let onFatal!: (err: unknown) => void;
  const fatal = new Promise<unknown>((resolve) => (onFatal = resolve));
  // before anything runs: a bad watchtower key or chain node refuses to start
  const watchtower = config.watchtower ? await startWatchtowerMode(client, config.watchtower, logger, onFatal) : undefined;
  const heartbeats = startHeartbeats({
    client,
    nodeId,
    intervalMs: config.heartbeatS * 1000,
    sample: () => sampleGpuMetrics(exec, resolved.source === "detected"),
    logger,
    onFatal,
  });
  const market = marketIdOf(offered.model, offered.vramGb);
  const offers = new OfferManager(client, { nodeId, market, gpuModel: resolved.groups.length > 1 ? market : null, gpuCount }, config.pricing, logger);
  const offerLoop: Loop = startLoop(() => offers.reconcile(), config.repriceS * 1000, (err) => {
    if (isAuthError(err)) onFatal(err);
    else logger.warn({ err: errorText(err) }, "offer check failed");
  });
  const runner = new Runner({
    client,
    executor,
    transfer: deps.transfer ?? createHttpTransfer(),
    logger,
    workDir,
    apiUrl: config.apiUrl,
    nodeId,
    gpuIndexes: offered.indexes.slice(0, gpuCount),
    maxJobs: config.maxJobs,
    outputUpload: { tries: config.uploadTries },
    pollMs: config.pollS * 1000,
    onFatal,
  });
  runner.start();
  logger.info(
    { nodeId, market, gpuCount, executor: executor.kind, pricing: config.pricing.kind === "fixed" ? formatDecimal(config.pricing.priceWei) : `${formatDecimal(config.pricing.floorWei)}..${formatDecimal(config.pricing.ceilingWei)}` },
    "agent running",
  );

  let stopping: Promise<void> | null = null;
  return {
    nodeId,
    fatal,
    stop: () =>
      (stopping ??= (async () => {
        logger.info({ running: runner.active }, "agent stopping");
        await offerLoop.stop();
        await watchtower?.stop();
        await offers.cancel();
        await runner.stop(SHUTDOWN_GRACE_MS);
        await heartbeats.stop();
        await client.close();
        logger.info("agent stopped");
      })()),
  };
}

async function buildExecutor(deps: AgentDeps, exec: ExecFile, gpusDetected: boolean): Promise<Executor> {
  if (deps.config.executor === "process") return createProcessExecutor(deps.host);
  const engine = await detectContainerEngine(exec);
  if (!engine) throw new AgentConfigError("--executor", "container needs docker or podman on PATH; neither answered --version");
  deps.logger.info({ engine: engine.binary }, "container engine");
  return createContainerExecutor({ engine, host: deps.host, gpusDetected, uid: deps.uid, gid: deps.gid, exec });
}

/** Scratch folders left by an agent that died mid-run: their assignments are failed and the folders removed. */
async function failLeftovers(client: GraphqlClient, workDir: string, logger: Logger): Promise<void> {
  const entries = await readdir(workDir, { withFileTypes: true });
  for (const entry of entries.filter((e) => e.isDirectory() && /^[A-Za-z0-9_-]{1,100}$/.test(e.name))) {
    try {
      await client.request("FailAssignment", { id: entry.name, reason: "the agent restarted while running it; the workload was lost" });
      logger.warn({ assignmentId: entry.name }, "failed an assignment left running by a previous agent");
    } catch (err) {
      if (isAuthError(err)) throw err;
      logger.debug({ assignmentId: entry.name, err: errorText(err) }, "leftover assignment not failed");
    }
    await rm(path.join(workDir, entry.name), { recursive: true, force: true });
  }
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_");
}
