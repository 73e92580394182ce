import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";

const intFrom = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    HOST: z.string().min(1).default("0.0.0.0"),
    PORT: intFrom(0, 65535, 4000),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default("postgres://postgres@127.0.0.1:5432/gpu_exchange"),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
    JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    ADMIN_USER: z.string().min(1).optional(),
    ADMIN_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
    CHAIN_ID: z.coerce.bigint().positive().default(31337n),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    QUEUE_PREFIX: z.string().regex(/^[a-z0-9:_-]+$/i).default("gx"),
    SESSION_TTL_SECONDS: intFrom(5, 30 * 86400, 86400),
    CHALLENGE_TTL_SECONDS: intFrom(10, 3600, 300),
    HEARTBEAT_WINDOW_SECONDS: intFrom(5, 3600, 60),
    OFFER_EXPIRY_SWEEP_MS: intFrom(100, 600_000, 5000),
    MATCH_CONCURRENCY: intFrom(1, 1000, 64),
    RECONCILE_MS: intFrom(100, 600_000, 5000),
    RESTING_RETRY_MS: intFrom(1000, 86_400_000, 60_000),
    MATCH_CANDIDATE_LIMIT: intFrom(10, 1_000_000, 5000),
    MATCH_LOCK_MS: intFrom(500, 600_000, 30_000),
    MATCH_BATCH_SIZE: intFrom(1, 1000, 64),
    /** Where a matching worker takes candidates from: its offer index read model, or the SQL candidate query (the old path, a baseline). */
    MATCHING_CANDIDATES: z.enum(["index", "sql"]).default("index"),
    /** How often a worker's offer index is compared with (and made equal to) a fresh snapshot of the open offers. */
    MATCH_INDEX_VERIFY_MS: intFrom(1000, 86_400_000, 60_000),
    /** How long a placement waits for book deltas Postgres has and the index has not applied before it reads those markets again. */
    MATCH_INDEX_FENCE_MS: intFrom(1, 60_000, 250),
    LEASE_SECONDS: intFrom(1, 3600, 60),
    LEASE_SWEEP_MS: intFrom(100, 600_000, 1000),
    /** A node with no heartbeat for this long (and no progress on its work) has its work taken over; 0: leases only. */
    FAILOVER_SILENCE_SECONDS: intFrom(0, 3600, 15),
    MAX_ATTEMPTS: intFrom(1, 20, 3),
    CHECKPOINT_MAX_BYTES: intFrom(1, 2 ** 50, 64 * 2 ** 30),
    /** Where bytes live: a data folder (the default) or S3-compatible object storage. */
    BLOB_STORE: z.enum(["filesystem", "s3"]).default("filesystem"),
    DATA_DIR: z.string().min(1).default("data"),
    /** The web app's built files (`vite build` of web/), served at `/`; a folder that is missing serves nothing. */
    WEB_DIST_DIR: z.string().min(1).default("dist/web"),
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** The host clients and agents reach for presigned URLs, when it differs from S3_ENDPOINT (compose: localhost). */
    S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    S3_REGION: z.string().min(1).default("us-east-1"),
    S3_BUCKET: z.string().min(3).optional(),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("true").transform((v) => v === "true"),
    /** Uploads up to 5 GiB go straight to the store by presigned PUT (true), or every upload through the API (false). */
    S3_DIRECT_UPLOADS: z.enum(["true", "false"]).default("true").transform((v) => v === "true"),
    INPUT_MAX_BYTES: intFrom(1, 2 ** 50, 64 * 2 ** 30),
    OUTPUT_MAX_BYTES: intFrom(1, 2 ** 50, 64 * 2 ** 30),
    OUTPUT_MAX_FILES: intFrom(1, 100_000, 1000),
    JOB_MAX_INPUTS: intFrom(1, 10_000, 100),
    /** Bytes of inputs an account keeps at once. */
    STORAGE_QUOTA_BYTES: intFrom(0, 2 ** 53 - 1, 100 * 2 ** 30),
    /** Outputs and logs are kept this long after their job ends. */
    RESULT_RETENTION_DAYS: intFrom(0, 3650, 7),
    /** Whole checkpoints kept per replica while a job runs. */
    CHECKPOINTS_KEPT: intFrom(1, 1000, 2),
    ARTIFACT_SWEEP_MS: intFrom(1000, 86_400_000, 60_000),
    LOG_MAX_LINES: intFrom(0, 10_000_000, 50_000),
    LOG_MAX_BYTES: intFrom(0, 2 ** 40, 16 * 2 ** 20),
    LOG_LINE_MAX_BYTES: intFrom(16, 1024 * 1024, 4096),
    TRANSFER_URL_TTL_SECONDS: intFrom(10, 86400, 900),
    CHAIN_RPC_URL: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
    /** The node's WebSocket endpoint for a newHeads subscription (the indexer steps at each new head); unset: polling only (the dev chain's own is used). */
    CHAIN_WS_URL: z.url({ protocol: /^wss?$/ }).optional(),
    CHAIN_PORT: intFrom(1, 65535, 8545),
    /** The in-process dev chain's escrow challenge window (0: none): credits are claimable a window or two after their batch. */
    DEV_CHALLENGE_WINDOW_SECONDS: intFrom(0, 7 * 86_400, 0),
    CHAIN_START_BLOCK: z.coerce.bigint().nonnegative().default(0n),
    CHAIN_CONFIRMATIONS: intFrom(0, 10_000, 2),
    RELAY_TREASURY_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address").optional(),
    /** The treasury's key, which signs each relay job's order: in a file outside the project (mode 600), a JSON-RPC signer, or the key itself. */
    RELAY_TREASURY_KEY_FILE: z.string().min(1).optional(),
    RELAY_TREASURY_KEY_PASSWORD_FILE: z.string().min(1).optional(),
    RELAY_TREASURY_SIGNER_URL: z.url({ protocol: /^https?$/ }).optional(),
    RELAY_TREASURY_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex key").optional(),
    TOKEN_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address").optional(),
    ESCROW_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address").optional(),
    STAKING_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address").optional(),
    SETTLER_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex key").optional(),
    /** The settler's key in a file outside the project (0x hex, or a JSON keystore with SETTLER_KEY_PASSWORD_FILE); mode 600. */
    SETTLER_KEY_FILE: z.string().min(1).optional(),
    SETTLER_KEY_PASSWORD_FILE: z.string().min(1).optional(),
    /** A JSON-RPC signer (Clef, Web3Signer) that holds the settler's key and answers eth_signTransaction. */
    SETTLER_SIGNER_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** The settler's address: which account of SETTLER_SIGNER_URL to use, or a check on SETTLER_KEY_FILE. */
    SETTLER_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address").optional(),
    SLASHER_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex key").optional(),
    INDEXER_POLL_MS: intFrom(50, 60_000, 1000),
    CHAIN_RPC_TIMEOUT_MS: intFrom(100, 60_000, 5000),
    CHAIN_RPC_RETRIES: intFrom(0, 10, 2),
    CHAIN_MONITOR_MS: intFrom(500, 600_000, 5000),
    INDEXER_MAX_BACKOFF_MS: intFrom(100, 600_000, 2000),
    SETTLEMENT_DROP_AFTER_SECONDS: intFrom(0, 86_400, 60),
    SETTLEMENT_RETRY_BASE_SECONDS: intFrom(1, 86_400, 30),
    SETTLEMENT_RETRY_MAX_SECONDS: intFrom(1, 7 * 86_400, 3600),
    SETTLEMENT_MAX_BACKOFF_SECONDS: intFrom(1, 86_400, 300),
    SETTLEMENT_BATCH_SIZE: intFrom(1, 1000, 100),
    SETTLEMENT_MAX_AGE_SECONDS: intFrom(0, 86400, 60),
    SETTLEMENT_INTERVAL_MS: intFrom(100, 3_600_000, 5000),
    FEE_BPS: intFrom(0, 10_000, 0),
    /** How long an order prepared by prepareJobOrder stays valid (its EIP-712 expiry is now plus this). */
    ORDER_TTL_SECONDS: intFrom(600, 365 * 86_400, 7 * 86_400),
    /** What settlement may take after a job's run: a signed order must leave the run and this much before it expires. */
    ORDER_SETTLE_MARGIN_SECONDS: intFrom(60, 30 * 86_400, 3600),
    /** A standing rate (no default in production: the relay quotes no rate it was not given). */
    OGPU_USD_RATE: z.string().regex(/^\d+(\.\d{1,6})?$/, "must be US dollars per OGPU, such as 0.5").optional(),
    /** A fed rate older than this no longer prices relay jobs (a price feed that stopped). */
    USD_RATE_MAX_AGE_SECONDS: intFrom(10, 30 * 86400, 3600),
    MIN_PROVIDER_STAKE: z.string().regex(/^\d+(\.\d{1,18})?$/, "must be an OGPU amount such as 100 or 0.5").default("0"),
    INDEXER_SPAN_BLOCKS: intFrom(1, 100_000, 2000),
    BODY_LIMIT_BYTES: intFrom(1024, 10 * 1024 * 1024, 100 * 1024),
    GRAPHQL_MAX_DEPTH: intFrom(2, 50, 10),
    /** The values a response may hold, lists counted at their bounds (api/graphql/query-cost.ts). */
    GRAPHQL_MAX_COST: intFrom(10, 100_000_000, 100_000),
    GRAPHQL_MAX_ALIASES: intFrom(0, 1000, 15),
    GRAPHQL_MAX_TOKENS: intFrom(50, 100_000, 2000),
    GRAPHQL_MAX_DIRECTIVES: intFrom(0, 1000, 20),
    RATE_LIMIT_PER_MINUTE: intFrom(0, 10_000_000, 6000),
    /** How long an anonymous offers page is served again while its market's book has not changed (0: never). */
    OFFERS_CACHE_MAX_AGE_MS: intFrom(0, 60_000, 1000),
    /** What one account may hold on the book (LIMIT_EXCEEDED past them; offers a minute is RATE_LIMITED). */
    /** At most 200: `myNodes` (what an agent reads its node's offers from) lists an account's first 200 nodes. */
    MAX_NODES_PER_ACCOUNT: intFrom(1, 200, 200),
    MAX_OPEN_OFFERS_PER_ACCOUNT: intFrom(1, 10_000_000, 2000),
    MAX_OPEN_OFFERS_PER_MARKET: intFrom(1, 10_000_000, 500),
    MAX_OFFERS_PER_MINUTE: intFrom(1, 10_000_000, 600),
    MAX_PENDING_JOBS_PER_ACCOUNT: intFrom(1, 10_000_000, 1000),
    WS_MAX_OPERATIONS_PER_CONNECTION: intFrom(1, 10_000, 50),
    WS_MAX_OPERATIONS_PER_PRINCIPAL: intFrom(1, 100_000, 200),
    WS_MAX_BUFFERED_BYTES: intFrom(16 * 1024, 256 * 1024 * 1024, 1024 * 1024),
    WS_MAX_CONNECTIONS_PER_ADDRESS: intFrom(1, 1_000_000, 200),
    /** A WebSocket that starts no operation within this long after it opens is closed. */
    WS_IDLE_TIMEOUT_SECONDS: intFrom(1, 86_400, 30),
    /** Proxies in front of the API whose X-Forwarded-For entries are trusted (0: the TCP peer is the client). */
    TRUST_PROXY_HOPS: intFrom(0, 10, 0),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "is required when NODE_ENV=production" });
    }
    if (Boolean(env.ADMIN_USER) !== Boolean(env.ADMIN_PASSWORD)) {
      ctx.addIssue({ code: "custom", path: ["ADMIN_PASSWORD"], message: "ADMIN_USER and ADMIN_PASSWORD are set together" });
    }
    if (env.OGPU_USD_RATE !== undefined && !/[1-9]/.test(env.OGPU_USD_RATE)) ctx.addIssue({ code: "custom", path: ["OGPU_USD_RATE"], message: "must be more than 0" });
    if (env.CHAIN_RPC_URL && (!env.ESCROW_ADDRESS || !env.STAKING_ADDRESS || !env.TOKEN_ADDRESS)) {
      ctx.addIssue({ code: "custom", path: ["ESCROW_ADDRESS"], message: "with CHAIN_RPC_URL, set TOKEN_ADDRESS, ESCROW_ADDRESS and STAKING_ADDRESS" });
    }
    if (env.BLOB_STORE === "s3" && (!env.S3_BUCKET || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY)) {
      ctx.addIssue({ code: "custom", path: ["S3_BUCKET"], message: "with BLOB_STORE=s3, set S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (and S3_ENDPOINT for a store other than AWS)" });
    }
    if ([env.SETTLER_PRIVATE_KEY, env.SETTLER_KEY_FILE, env.SETTLER_SIGNER_URL].filter(Boolean).length > 1) {
      ctx.addIssue({ code: "custom", path: ["SETTLER_KEY_FILE"], message: "set one of SETTLER_PRIVATE_KEY, SETTLER_KEY_FILE and SETTLER_SIGNER_URL" });
    }
    if (env.SETTLER_KEY_PASSWORD_FILE && !env.SETTLER_KEY_FILE) {
      ctx.addIssue({ code: "custom", path: ["SETTLER_KEY_PASSWORD_FILE"], message: "is the password of SETTLER_KEY_FILE: set that too" });
    }
    if ([env.RELAY_TREASURY_PRIVATE_KEY, env.RELAY_TREASURY_KEY_FILE, env.RELAY_TREASURY_SIGNER_URL].filter(Boolean).length > 1) {
      ctx.addIssue({ code: "custom", path: ["RELAY_TREASURY_KEY_FILE"], message: "set one of RELAY_TREASURY_PRIVATE_KEY, RELAY_TREASURY_KEY_FILE and RELAY_TREASURY_SIGNER_URL" });
    }
    if (env.RELAY_TREASURY_KEY_PASSWORD_FILE && !env.RELAY_TREASURY_KEY_FILE) {
      ctx.addIssue({ code: "custom", path: ["RELAY_TREASURY_KEY_PASSWORD_FILE"], message: "is the password of RELAY_TREASURY_KEY_FILE: set that too" });
    }
    if (env.NODE_ENV === "production" && !env.PUBLIC_URL) {
      ctx.addIssue({ code: "custom", path: ["PUBLIC_URL"], message: "is required when NODE_ENV=production (sign-in messages name its host)" });
    }
  });

export type Config = Omit<z.infer<typeof schema>, "JWT_SECRET" | "PUBLIC_URL"> & {
  JWT_SECRET: string;
  PUBLIC_URL: string;
  /** True when JWT_SECRET was generated for this process (development only). */
  jwtSecretGenerated: boolean;
};

/**
 * The environment a process runs with: its own, plus a `.env` file in `dir` when there is one (a variable the
 * environment already sets wins, as with docker compose).
 */
export function environment(dir = process.cwd(), env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = join(dir, ".env");
  if (!existsSync(file)) return env;
  return { ...parseEnv(readFileSync(file, "utf8")), ...env };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the process's configuration from an environment once. Empty strings count as unset.
 * Throws ConfigError naming each bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`));
  }
  const c = parsed.data;
  return {
    ...c,
    JWT_SECRET: c.JWT_SECRET ?? randomBytes(32).toString("hex"),
    jwtSecretGenerated: !c.JWT_SECRET,
    PUBLIC_URL: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, ""),
    // outside production a standing rate, so the relay works out of the box on the dev chain
    OGPU_USD_RATE: c.OGPU_USD_RATE ?? (c.NODE_ENV === "production" ? undefined : "0.5"),
  };
}

/** Settlement's settings as the configuration gives them: the API's settlement reads and the indexer's sender take this one group. */
export interface SettlementConfig {
  batchSize: number;
  maxAgeMs: number;
  feeBps: number;
  dropAfterMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export function settlementConfig(c: Config): SettlementConfig {
  return {
    batchSize: c.SETTLEMENT_BATCH_SIZE,
    maxAgeMs: c.SETTLEMENT_MAX_AGE_SECONDS * 1000,
    feeBps: c.FEE_BPS,
    dropAfterMs: c.SETTLEMENT_DROP_AFTER_SECONDS * 1000,
    retryBaseMs: c.SETTLEMENT_RETRY_BASE_SECONDS * 1000,
    retryMaxMs: c.SETTLEMENT_RETRY_MAX_SECONDS * 1000,
  };
}
