import type { Logger } from "pino";
import { AgentConfigError } from "./config";
import type { ExecFile } from "./exec-file";
import { type GpuGroup, type IndexedGpuGroup, mergeGroups } from "./gpu-groups";

/** One GPU as nvidia-smi reports it. */
export interface DetectedGpu {
  index: number;
  uuid: string;
  model: string;
  /** memory.total in MiB / 1024, rounded to the nearest GB (81559 MiB -> 80). */
  vramGb: number;
  driver: string;
}

/** GPU utilization (0..1) and temperature (°C), averaged over the node's GPUs. */
export interface GpuMetrics {
  gpuUtilization: number;
  gpuTemperatureC: number;
}

/** The GPUs the agent works with and where they came from. */
export interface ResolvedGpus {
  source: "detected" | "declared";
  groups: IndexedGpuGroup[];
}

const NVIDIA_SMI = "nvidia-smi";
const TIMEOUT_MS = 10_000;
const QUERY = ["--query-gpu=name,memory.total,driver_version,uuid,index", "--format=csv,noheader,nounits"];
const METRICS_QUERY = ["--query-gpu=utilization.gpu,temperature.gpu", "--format=csv,noheader,nounits"];

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,driver_version,uuid,index --format=csv,noheader,nounits`.
 * Lines that are not five fields with a numeric memory and index are skipped; a name with commas is kept whole.
 */
export function parseNvidiaSmiCsv(text: string): DetectedGpu[] {
  const gpus: DetectedGpu[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 5) continue;
    const [index, uuid, driver, memory] = [fields.at(-1), fields.at(-2), fields.at(-3), fields.at(-4)] as string[];
    const model = fields.slice(0, -4).join(", ");
    if (!/^\d+$/.test(index) || !/^\d+(\.\d+)?$/.test(memory) || model.length === 0) continue;
    gpus.push({ index: Number(index), uuid, model, vramGb: Math.round(Number(memory) / 1024), driver });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/** Groups detected GPUs by model and memory, in order of their first index. */
export function groupDetectedGpus(gpus: readonly DetectedGpu[]): IndexedGpuGroup[] {
  const groups = new Map<string, IndexedGpuGroup>();
  for (const gpu of gpus) {
    const key = `${gpu.model}\u0000${gpu.vramGb}`;
    const group = groups.get(key) ?? { model: gpu.model, vramGb: gpu.vramGb, count: 0, indexes: [] };
    group.count += 1;
    group.indexes.push(gpu.index);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The CUDA version from nvidia-smi's banner ("CUDA Version: 12.4"), or null. */
export function parseCudaVersion(banner: string): string | null {
  return /CUDA Version:\s*([\d.]+)/.exec(banner)?.[1] ?? null;
}

/**
 * Parses `nvidia-smi --query-gpu=utilization.gpu,temperature.gpu --format=csv,noheader,nounits` into averages;
 * undefined when no line has both figures.
 */
export function parseGpuMetricsCsv(text: string): GpuMetrics | undefined {
  const rows = text
    .split(/\r?\n/)
    .map((line) => line.split(",").map((f) => Number(f.trim())))
    .filter((f) => f.length === 2 && f.every((n) => Number.isFinite(n)));
  if (rows.length === 0) return undefined;
  const mean = (i: number) => rows.reduce((sum, r) => sum + r[i], 0) / rows.length;
  return { gpuUtilization: Math.min(1, Math.max(0, mean(0) / 100)), gpuTemperatureC: Math.round(mean(1) * 10) / 10 };
}

/** Asks nvidia-smi for the GPUs (no shell, 10 s timeout); an empty list when it is missing or fails. */
export async function detectGpus(exec: ExecFile, logger: Logger): Promise<{ gpus: DetectedGpu[]; cudaVersion: string | null }> {
  let gpus: DetectedGpu[];
  try {
    gpus = parseNvidiaSmiCsv(await exec(NVIDIA_SMI, QUERY, TIMEOUT_MS));
  } catch (err) {
    logger.debug({ err: errorText(err) }, "nvidia-smi did not answer");
    return { gpus: [], cudaVersion: null };
  }
  const cudaVersion = gpus.length > 0 ? await exec(NVIDIA_SMI, [], TIMEOUT_MS).then(parseCudaVersion, () => null) : null;
  return { gpus, cudaVersion };
}

/**
 * Chooses the GPUs to work with: detected ones win (a --gpus declaration is then ignored, and logged so);
 * without any, the declared groups are used with indexes 0, 1, ... in order, and a warning says so.
 * Throws AgentConfigError for --gpus when there are neither.
 */
export function resolveGpus(detected: readonly DetectedGpu[], declared: readonly GpuGroup[], logger: Logger): ResolvedGpus {
  if (detected.length > 0) {
    const groups = groupDetectedGpus(detected);
    if (declared.length > 0) logger.warn({ detected: groups.map(plain) }, "GPUs found by nvidia-smi; the GPUs declared by --gpus are ignored");
    return { source: "detected", groups };
  }
  if (declared.length === 0) {
    throw new AgentConfigError("--gpus", 'no NVIDIA GPU found by nvidia-smi and none declared; declare them as MODEL:VRAM_GB:COUNT, e.g. "NVIDIA H100 80GB HBM3:80:8"');
  }
  logger.warn("no NVIDIA GPU found by nvidia-smi; using the GPUs declared by --gpus");
  let next = 0;
  const groups = mergeGroups(declared).map((g) => ({ ...g, indexes: Array.from({ length: g.count }, () => next++) }));
  return { source: "declared", groups };
}

/** Samples utilization and temperature for heartbeats; undefined without detected GPUs or on any failure. */
export async function sampleGpuMetrics(exec: ExecFile, hasGpus: boolean): Promise<GpuMetrics | undefined> {
  if (!hasGpus) return undefined;
  try {
    return parseGpuMetricsCsv(await exec(NVIDIA_SMI, METRICS_QUERY, TIMEOUT_MS));
  } catch {
    return undefined;
  }
}

function plain(g: GpuGroup): string {
  return `${g.count} x ${g.model} (${g.vramGb} GB)`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
