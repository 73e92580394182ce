import { Client } from "pg";
import { POOL_WAIT_MS } from "./data-source";
import type { ConnectDedicated } from "./leader-lock";

/** A factory of dedicated connections to `url` (outside the pool), each named for pg_stat_activity, connecting within POOL_WAIT_MS. */
export function dedicatedConnections(url: string): ConnectDedicated {
  return async (name) => {
    const client = new Client({ connectionString: url, application_name: `gpu-exchange ${name}`, connectionTimeoutMillis: POOL_WAIT_MS, keepAlive: true });
    client.on("error", () => undefined);
    await client.connect();
    return client;
  };
}
