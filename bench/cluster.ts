/** Processes of a local marketplace for the benchmarks and the demo: the server and agents, as users run them. */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";

const ROOT = path.resolve(__dirname, "..", "..");
const STOP_GRACE_MS = 10_000;

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The last lines it wrote. */
  tail: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node <script> ...args` from dist/, keeping its last 60 lines; `onLine` sees every line. */
export function spawnNode(name: string, script: string, args: string[], env: Record<string, string | undefined>, onLine?: (line: string) => void, extraNodeArgs: string[] = []): Proc {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the processes a bench starts
  const nodeArgs = [...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), ...extraNodeArgs];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, "dist", script), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      tail.push(line.slice(0, 1000));
      if (tail.length > 60) tail.shift();
      onLine?.(line);
    }
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    child,
    tail,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The whole marketplace in one process (`dist/api/bin/main.js`) on `port` and a database of its own. */
export function startMarketplace(port: number, databaseUrl: string, env: Record<string, string> = {}, onLine?: (line: string) => void, nodeArgs: string[] = []): Proc {
  return spawnNode("marketplace", "api/bin/main.js", [], marketplaceEnv(port, databaseUrl, env), onLine, nodeArgs);
}

/** The environment of a bench's marketplace processes: one port, one database, a fresh queue prefix and secret. */
export function marketplaceEnv(port: number, databaseUrl: string, env: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    QUEUE_PREFIX: `gx${randomBytes(3).toString("hex")}`,
    JWT_SECRET: randomBytes(32).toString("hex"),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: "warn",
    // the dev chain's port, where the caller moved it
    ...(process.env.CHAIN_PORT ? { CHAIN_PORT: process.env.CHAIN_PORT } : {}),
    ...env,
  };
}

/** Waits for GET /readyz to answer 200. */
export async function waitReady(base: string, proc: Proc, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}:\n${proc.tail.join("\n")}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s`);
}

export interface AgentOptions {
  api: string;
  apiKey: string;
  name: string;
  region: string;
  gpus: string;
  price: string;
  workDir: string;
  /** Seconds between heartbeats (default 1; the agent's own default is 5). */
  heartbeatS?: number;
  extra?: string[];
}

/** A provider agent (`dist/agent/cli.js`) with the process executor and declared GPUs. */
export function startAgent(o: AgentOptions, onLine?: (line: string) => void): Proc {
  const args = ["--api", o.api, "--name", o.name, "--region", o.region, "--gpus", o.gpus, "--price", o.price, "--executor", "process", "--work-dir", o.workDir];
  args.push("--heartbeat-s", String(o.heartbeatS ?? 1), "--poll-s", "1", ...(o.extra ?? []));
  if (process.getuid?.() === 0) args.push("--allow-root");
  return spawnNode(o.name, "agent/cli.js", args, { PATH: process.env.PATH, HOME: o.workDir, GX_API_KEY: o.apiKey }, onLine);
}

/** Drops and forgets a database on the Postgres server at `serverUrl` (postgres://user@host:port). */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Credits OGPU of escrow to wallets' accounts directly in the database, as the chain indexer will from deposits. */
export async function creditEscrow(databaseUrl: string, addresses: string[], wei: bigint): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO escrow_balances (account_id, deposited_wei) SELECT id, $2 FROM accounts WHERE address = ANY($1)
       ON CONFLICT (account_id) DO UPDATE SET deposited_wei = escrow_balances.deposited_wei + excluded.deposited_wei`,
      [addresses.map((a) => a.toLowerCase()), wei.toString()],
    );
  } finally {
    await db.end();
  }
}

/** RSS of a process in KiB, from /proc (undefined when it is gone). */
export function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
