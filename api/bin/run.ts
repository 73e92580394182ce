import { ConfigError, environment, loadConfig, type Config } from "../config";
import { startSystem, type Roles } from "./system";

/** The longest a stop may take (SIGTERM to exit), below an orchestrator's usual 30 s grace period. */
const SHUTDOWN_LIMIT_MS = 20_000;

/** Runs a process with the given roles until SIGINT/SIGTERM; a bad configuration exits 78 before listening. */
export async function run(roles: Roles, name: string): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(environment());
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`${name}: ${e.message}`);
      process.exit(78);
    }
    throw e;
  }
  const system = await startSystem(config, roles);
  const where = system.port !== undefined ? ` on ${config.PUBLIC_URL} (port ${system.port}), GraphQL at /graphql` : "";
  system.logger.info(`${name} started${where}`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    system.logger.info({ signal }, `${name} stopping`);
    // every step of the shutdown is bounded; this bounds the whole, whatever is down
    setTimeout(() => {
      system.logger.warn(`${name}: shutdown took over ${SHUTDOWN_LIMIT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    await system.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

export function main(roles: Roles, name: string): void {
  run(roles, name).catch((err) => {
    console.error(`${name} failed to start:`, err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
