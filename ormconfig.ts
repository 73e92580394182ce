import "reflect-metadata";
import { loadConfig } from "./api/config";
import { createDataSource } from "./api/db/data-source";

/** The TypeORM DataSource for the CLI (`npx typeorm -d dist/ormconfig.js migration:show`). */
export default createDataSource(loadConfig(process.env).DATABASE_URL);
