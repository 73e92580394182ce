import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { freePort } from "../harness";

/** The server binaries of the Postgres Debian installs (the newest version). */
function pgBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return join(root, version, "bin", name);
}

const asRoot = process.getuid?.() === 0;

/** Runs a Postgres tool as the postgres user when we are root (Postgres refuses to run as root). */
function pgRun(args: string[]): void {
  const [cmd, ...rest] = args;
  const r = asRoot ? spawnSync("runuser", ["-u", "postgres", "--", cmd, ...rest], { encoding: "utf8" }) : spawnSync(cmd, rest, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PostgresServer {
  url(database?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/**
 * A Postgres cluster of the test's own (initdb in a temporary folder, a free port, no fsync), so it can be stopped
 * and started without touching the shared server on 5432.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), "gx-fault-pg-"));
  chmodSync(dir, 0o755);
  if (asRoot) {
    const { uid, gid } = passwdOf("postgres");
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  pgRun([pgBin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const ctl = (action: "start" | "stop") =>
    pgRun([pgBin("pg_ctl"), "-D", data, "-l", join(dir, "log"), "-w", "-t", "30", ...(action === "stop" ? ["-m", "fast"] : ["-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`]), action]);
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const ready = async () => {
    const c = new Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
    c.on("error", () => undefined);
    try {
      await c.connect();
      await c.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  const start = async () => {
    ctl("start");
    await until(ready, 30_000, "Postgres to accept connections");
  };
  await start();
  return {
    url,
    start,
    stop: async () => ctl("stop"),
    destroy: async () => {
      if (existsSync(join(data, "postmaster.pid"))) ctl("stop");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function passwdOf(user: string): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", user], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", user], { encoding: "utf8" });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export interface RedisServer {
  url: string;
  /** Kills the server (its data is gone: it keeps nothing on disk). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A Redis of the test's own on a free port, keeping nothing on disk (a restart starts it empty). */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const ping = () => spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG";
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    await until(async () => ping(), 10_000, "Redis to answer");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: async () => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await exited;
    },
  };
}
