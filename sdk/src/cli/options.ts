import { InvalidArgumentError, type Command } from "commander";
import type { JobRequirementsInput, MatchStrategy } from "../generated/graphql";

/** A whole number argument (commander parser): refused before anything is sent when it is not one. */
export function intArg(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError("not a whole number");
  return Number(value);
}

/** A fraction argument such as 0.9. */
export function floatArg(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
}

/** Collects a repeatable option (and comma-separated values). */
export const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(",").map((v) => v.trim()).filter(Boolean)];

/** The options of a job's requirements, shared by `gx quote` and `gx submit`. */
export function requirementOptions(command: Command): Command {
  return command
    .option("--gpus <n>", "GPUs on one node, per replica", intArg, 1)
    .option("--vram <gb>", "least VRAM per GPU, GB", intArg, 1)
    .option("--model <name>", "GPU models such as H100 or RTX4090 (repeat or comma-separate)", collect)
    .option("--region <id>", "where the job's users are (a region id such as eu-central)")
    .option("--max-latency <ms>", "bound on the latency estimate from the region", intArg)
    .option("--min-reputation <r>", "least provider reputation, 0 to 1", floatArg)
    .option("--max-price <ogpu>", "price cap, OGPU per GPU-hour (required to submit)")
    .option("--max-duration <s>", "longest run, seconds", intArg, 3600)
    .option("--redundancy <n>", "replicas on distinct providers whose results are compared", intArg)
    .option("--strategy <name>", "BALANCED, CHEAPEST, FASTEST or MOST_RELIABLE");
}

/** Parsed values of {@link requirementOptions}. */
export interface RequirementFlags {
  gpus: number;
  vram: number;
  model?: string[];
  region?: string;
  maxLatency?: number;
  minReputation?: number;
  maxPrice?: string;
  maxDuration: number;
  redundancy?: number;
  strategy?: string;
}

/** The flags as JobRequirementsInput (values the server checks are sent as given, so its refusal names them). */
export function requirementsOf(flags: RequirementFlags): JobRequirementsInput {
  return {
    gpuCount: flags.gpus,
    minVramGb: flags.vram,
    gpuModels: flags.model,
    region: flags.region,
    maxLatencyMs: flags.maxLatency,
    minReputation: flags.minReputation,
    maxPricePerGpuHour: flags.maxPrice,
    maxDurationSeconds: flags.maxDuration,
    redundancy: flags.redundancy,
    strategy: flags.strategy as MatchStrategy | undefined,
  };
}
