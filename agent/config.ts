import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { MAX_VRAM_GB, normalizeGpuModel } from "../matching/market-id";
import { REGIONS } from "../matching/regions";
import { parseDecimal } from "../pricing/units";
import { type GpuGroup, mergeGroups } from "./gpu-groups";
import type { PricePolicy } from "./price-policy";

/** Log levels the agent accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The agent's configuration, parsed once from flags and environment by {@link parseAgentConfig}. */
export interface AgentConfig {
  apiUrl: string;
  /** The key itself, from --api-key or GX_API_KEY; exactly one of apiKey and apiKeyFile is set. */
  apiKey?: string;
  apiKeyFile?: string;
  nodeName: string;
  region: string;
  /** GPUs declared with --gpus, used when nvidia-smi finds none. */
  declaredGpus: GpuGroup[];
  pricing: PricePolicy;
  executor: "process" | "container";
  workDir: string;
  allowRoot: boolean;
  heartbeatS: number;
  pollS: number;
  repriceS: number;
  maxJobs: number;
  /** Tries of each output upload while the store is unavailable (1 s doubling to 40 s between them). */
  uploadTries: number;
  /** GPUs to offer; null offers the whole offered group. */
  offerGpus: number | null;
  logLevel: LogLevel;
  /** Watchtower mode: the chain node and the key that answers challenges of batches crediting this provider. */
  watchtower?: { rpcUrl: string; keyFile: string; intervalS: number };
}

/** Facts about the host the defaults come from, passed in so that parsing stays pure. */
export interface ConfigDefaults {
  hostname: string;
  homeDir: string;
  cwd: string;
}

/** A bad flag or environment variable; `flag` names it (e.g. "--region"). */
export class AgentConfigError extends Error {
  readonly code = "INVALID_CONFIG";
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
    this.name = "AgentConfigError";
  }
}

/** Environment variable read for each flag when the flag is absent. */
export const ENV_FALLBACKS = {
  api: "GX_API",
  "api-key": "GX_API_KEY",
  "api-key-file": "GX_API_KEY_FILE",
  name: "GX_NODE_NAME",
  region: "GX_REGION",
  gpus: "GX_GPUS",
  price: "GX_PRICE",
  "price-floor": "GX_PRICE_FLOOR",
  "price-ceiling": "GX_PRICE_CEILING",
  executor: "GX_EXECUTOR",
  "work-dir": "GX_WORK_DIR",
  "allow-root": "GX_ALLOW_ROOT",
  "heartbeat-s": "GX_HEARTBEAT_S",
  "poll-s": "GX_POLL_S",
  "reprice-s": "GX_REPRICE_S",
  "max-jobs": "GX_MAX_JOBS",
  "upload-tries": "GX_UPLOAD_TRIES",
  "offer-gpus": "GX_OFFER_GPUS",
  "log-level": "GX_LOG_LEVEL",
  "watchtower-rpc": "GX_WATCHTOWER_RPC",
  "watchtower-key-file": "GX_WATCHTOWER_KEY_FILE",
  "watchtower-s": "GX_WATCHTOWER_S",
} as const;
type Flag = keyof typeof ENV_FALLBACKS;

const STRING_FLAGS = Object.keys(ENV_FALLBACKS).filter((f) => f !== "allow-root" && f !== "gpus") as Flag[];
const PARSE_OPTIONS = {
  ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: "string" as const }])),
  gpus: { type: "string" as const, multiple: true },
  "allow-root": { type: "boolean" as const },
  help: { type: "boolean" as const, short: "h" },
};

/** True when the arguments ask for usage (`--help` or `-h`). */
export function isHelpRequested(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/**
 * Parses the agent's flags (`argv` without node and script), falling back to `env` per {@link ENV_FALLBACKS}.
 * Price flags are taken from argv as a set: when any of --price, --price-floor, --price-ceiling is given, the
 * GX_PRICE* variables are ignored; likewise --api-key / --api-key-file against GX_API_KEY*.
 * Throws {@link AgentConfigError} naming the first bad flag.
 */
export function parseAgentConfig(argv: readonly string[], env: Record<string, string | undefined>, defaults: ConfigDefaults): AgentConfig {
  const flags = readFlags(argv);
  const fromEnv = (flag: Flag): string | undefined => {
    const value = env[ENV_FALLBACKS[flag]];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const group = (names: Flag[]): Partial<Record<Flag, string>> => {
    const onArgv = names.some((n) => flags[n] !== undefined);
    return Object.fromEntries(names.map((n) => [n, onArgv ? (flags[n] as string | undefined) : fromEnv(n)]));
  };
  const raw = {
    ...Object.fromEntries(STRING_FLAGS.map((f) => [f, (flags[f] as string | undefined) ?? fromEnv(f)])),
    ...group(["api-key", "api-key-file"]),
    ...group(["price", "price-floor", "price-ceiling"]),
    gpus: flags.gpus !== undefined ? (flags.gpus as string[]) : fromEnv("gpus") !== undefined ? [fromEnv("gpus") as string] : [],
    "allow-root": flags["allow-root"] === true || /^(1|true|yes)$/i.test(fromEnv("allow-root") ?? ""),
  };
  const parsed = configSchema(defaults).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentConfigError(`--${String(issue.path[0] ?? "config")}`, issue.message);
  }
  return parsed.data;
}

function readFlags(argv: readonly string[]): Record<string, string | string[] | boolean | undefined> {
  try {
    return parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? "(arguments)";
    const code = (err as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new AgentConfigError(flag, "unknown flag; run with --help for the list");
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new AgentConfigError(flag, "needs a value");
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new AgentConfigError("(arguments)", `unexpected argument: ${message}`);
    throw new AgentConfigError(flag, message);
  }
}

const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const amount = z.string().transform((text, ctx) => {
  try {
    const wei = parseDecimal(text.trim());
    if (wei === 0n) ctx.addIssue({ code: "custom", message: "must be more than 0 (OGPU per GPU-hour)" });
    return wei;
  } catch (err) {
    ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

const gpuList = z.array(z.string()).transform((values, ctx) => {
  const groups: GpuGroup[] = [];
  for (const spec of values.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s.length > 0)) {
    try {
      groups.push(parseGpuSpec(spec));
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  }
  return mergeGroups(groups);
});

/**
 * Parses one `MODEL:VRAM_GB:COUNT` declaration, splitting on the last two colons so the model may hold
 * spaces and colons ("NVIDIA H100 80GB HBM3:80:8").
 */
export function parseGpuSpec(spec: string): GpuGroup {
  const last = spec.lastIndexOf(":");
  const middle = last > 0 ? spec.lastIndexOf(":", last - 1) : -1;
  if (middle <= 0) throw new Error(`"${spec}" is not MODEL:VRAM_GB:COUNT, e.g. "NVIDIA H100 80GB HBM3:80:8"`);
  const model = spec.slice(0, middle).trim();
  const vram = spec.slice(middle + 1, last).trim();
  const count = spec.slice(last + 1).trim();
  normalizeGpuModel(model);
  if (!/^\d+$/.test(vram) || Number(vram) < 1 || Number(vram) > MAX_VRAM_GB) {
    throw new Error(`"${spec}": VRAM must be a whole number of GB from 1 to ${MAX_VRAM_GB}`);
  }
  if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 1024) {
    throw new Error(`"${spec}": COUNT must be a whole number from 1 to 1024`);
  }
  return { model, vramGb: Number(vram), count: Number(count) };
}

function configSchema(defaults: ConfigDefaults) {
  const expandHome = (p: string) => (p === "~" ? defaults.homeDir : p.startsWith("~/") ? path.join(defaults.homeDir, p.slice(2)) : p);
  return z
    .object({
      api: z
        .string()
        .default("http://127.0.0.1:4000/graphql")
        .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http:// or https:// URL of the GraphQL endpoint"),
      "api-key": z.string().trim().min(1, "must not be empty").optional(),
      "api-key-file": z.string().min(1).optional(),
      name: z
        .string()
        .trim()
        .default(defaults.hostname)
        .pipe(z.string().min(1, "must not be empty").max(100, "must be at most 100 characters")),
      region: z
        .string({ error: `is required; one of ${REGIONS.map((r) => r.id).join(", ")}` })
        .refine((id) => REGIONS.some((r) => r.id === id), { error: `must be one of ${REGIONS.map((r) => r.id).join(", ")}` }),
      gpus: gpuList,
      price: amount.optional(),
      "price-floor": amount.optional(),
      "price-ceiling": amount.optional(),
      executor: z.enum(["process", "container"], { error: "must be process or container" }).default("process"),
      "work-dir": z
        .string()
        .min(1)
        .default(path.join(defaults.homeDir, ".gpu-exchange", "work"))
        .transform((p) => path.resolve(defaults.cwd, expandHome(p))),
      "allow-root": z.boolean(),
      "heartbeat-s": whole(1, 3600).default(5),
      "poll-s": whole(1, 3600).default(5),
      "reprice-s": whole(5, 86_400).default(60),
      "max-jobs": whole(1, 1024).default(1),
      "upload-tries": whole(1, 20).default(8),
      "offer-gpus": whole(1, 1024).optional(),
      "log-level": z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
      "watchtower-rpc": z
        .string()
        .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http:// or https:// URL of the chain's JSON-RPC node")
        .optional(),
      "watchtower-key-file": z.string().min(1).optional(),
      "watchtower-s": whole(1, 3600).default(30),
    })
    .superRefine((c, ctx) => {
      if (c["api-key"] === undefined && c["api-key-file"] === undefined) {
        ctx.addIssue({ code: "custom", path: ["api-key"], message: "is required (or --api-key-file PATH, GX_API_KEY, GX_API_KEY_FILE)" });
      }
      if (c["api-key"] !== undefined && c["api-key-file"] !== undefined) {
        ctx.addIssue({ code: "custom", path: ["api-key-file"], message: "give either --api-key or --api-key-file, not both" });
      }
      if ((c["watchtower-rpc"] === undefined) !== (c["watchtower-key-file"] === undefined)) {
        ctx.addIssue({ code: "custom", path: [c["watchtower-rpc"] === undefined ? "watchtower-rpc" : "watchtower-key-file"], message: "watchtower mode needs both --watchtower-rpc and --watchtower-key-file" });
      }
      const floor = c["price-floor"];
      const ceiling = c["price-ceiling"];
      if (c.price !== undefined && (floor !== undefined || ceiling !== undefined)) {
        ctx.addIssue({ code: "custom", path: ["price"], message: "a fixed --price excludes --price-floor/--price-ceiling; choose one mode" });
      } else if (c.price === undefined && floor === undefined && ceiling === undefined) {
        ctx.addIssue({ code: "custom", path: ["price"], message: "is required: a fixed --price, or --price-floor and --price-ceiling to follow the market" });
      } else if (c.price === undefined && floor === undefined) {
        ctx.addIssue({ code: "custom", path: ["price-floor"], message: "is required with --price-ceiling" });
      } else if (c.price === undefined && ceiling === undefined) {
        ctx.addIssue({ code: "custom", path: ["price-ceiling"], message: "is required with --price-floor" });
      } else if (floor !== undefined && ceiling !== undefined && floor > ceiling) {
        ctx.addIssue({ code: "custom", path: ["price-floor"], message: "must not be above --price-ceiling" });
      }
    })
    .transform(
      (c): AgentConfig => ({
        apiUrl: c.api,
        ...(c["api-key"] !== undefined ? { apiKey: c["api-key"] } : {}),
        ...(c["api-key-file"] !== undefined ? { apiKeyFile: path.resolve(defaults.cwd, expandHome(c["api-key-file"])) } : {}),
        nodeName: c.name,
        region: c.region,
        declaredGpus: c.gpus,
        pricing:
          c.price !== undefined
            ? { kind: "fixed", priceWei: c.price }
            : { kind: "follow", floorWei: c["price-floor"] as bigint, ceilingWei: c["price-ceiling"] as bigint },
        executor: c.executor,
        workDir: c["work-dir"],
        allowRoot: c["allow-root"],
        heartbeatS: c["heartbeat-s"],
        pollS: c["poll-s"],
        repriceS: c["reprice-s"],
        maxJobs: c["max-jobs"],
        uploadTries: c["upload-tries"],
        offerGpus: c["offer-gpus"] ?? null,
        logLevel: c["log-level"],
        ...(c["watchtower-rpc"] !== undefined && c["watchtower-key-file"] !== undefined
          ? { watchtower: { rpcUrl: c["watchtower-rpc"], keyFile: path.resolve(defaults.cwd, expandHome(c["watchtower-key-file"])), intervalS: c["watchtower-s"] } }
          : {}),
      }),
    );
}

/** The message refusing to run as root, or null when running is fine (not root, or root allowed). */
export function rootRefusal(uid: number | undefined, allowRoot: boolean): string | null {
  if (uid !== 0 || allowRoot) return null;
  return "refusing to run as root: workloads would run with root's rights. Run the agent as an unprivileged user, or pass --allow-root (GX_ALLOW_ROOT=1) if you really mean it.";
}
