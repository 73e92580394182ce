import { Client } from "pg";

/**
 * Creates the database named in `url` when it does not exist, connecting to the server's `postgres`
 * database to do so. Safe to run concurrently: a lost race to create it is not an error.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) throw new Error(`database name "${name}" must be letters, digits, _ or -`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (e) {
      if ((e as { code?: string }).code !== "42P04" && (e as { code?: string }).code !== "23505") throw e;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

