import type { DataSource, EntityManager } from "typeorm";
import { isTransactionConflict } from "./db-errors";

/** Tries of a transaction that lost to a concurrent one (a serialization failure or a deadlock). */
const ATTEMPTS = 5;

/**
 * Runs `work` in a transaction, running it again (from the start, on a fresh transaction) when Postgres aborted it
 * for a serialization failure or a deadlock, so such races never reach a client; after the last try the error goes
 * on (and is classified UNAVAILABLE). `work` must be safe to run again: all it does is inside the transaction.
 */
export async function inTransaction<T>(db: DataSource, work: (tx: EntityManager) => Promise<T>, attempts = ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (err) {
      if (!isTransactionConflict(err) || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
    }
  }
}
