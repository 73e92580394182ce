import { Client } from "pg";

/** Server that tests use (TEST_DATABASE_URL's server, or the local one). */
export function testServerUrl(): URL {
  return new URL(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
}

export const TEMPLATE_DB = "gx_test_template";

export function databaseUrl(name: string): string {
  const url = testServerUrl();
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl("postgres") });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own, copied from the migrated template (for tests whose workers sweep the whole database). */
export async function privateDatabaseUrl(label: string): Promise<string> {
  const name = `gx_test_${label}_${process.pid}`;
  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`);
  });
  return databaseUrl(name);
}
