import { ConfigError, environment, loadConfig } from "../config";
import { createLogger, prepareDatabase } from "./system";

/** `npm run migrate`: creates the database if missing and runs pending migrations. */
async function migrate(): Promise<void> {
  const config = loadConfig(environment());
  const db = await prepareDatabase(config, createLogger(config));
  await db.destroy();
}

migrate().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
