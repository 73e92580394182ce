import "reflect-metadata";
import { createDataSource } from "../db/data-source";
import { databaseUrl, TEMPLATE_DB, withAdmin } from "./databases";

/** Drops old test databases, then builds the template every test file's database is copied from (migrations only). */
export default async function globalSetup(): Promise<void> {
  await withAdmin(async (admin) => {
    const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'gx_test_%'`);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${TEMPLATE_DB}"`);
  });
  const db = createDataSource(databaseUrl(TEMPLATE_DB), 2);
  await db.initialize();
  await db.runMigrations({ transaction: "each" });
  await db.destroy();
}
