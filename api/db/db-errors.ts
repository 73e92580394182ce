/**
 * The driver error behind an ORM error (TypeORM's QueryFailedError keeps it as `driverError`; graphql-js wraps a
 * thrown value that is not an Error of its realm as `thrownValue`), else the error itself.
 */
export function driverErrorOf(error: unknown): { code?: unknown; message?: unknown; name?: unknown } | undefined {
  if (!error || typeof error !== "object") return undefined;
  const e = error as { driverError?: unknown; thrownValue?: unknown };
  if (e.thrownValue && typeof e.thrownValue === "object") return driverErrorOf(e.thrownValue);
  return (e.driverError && typeof e.driverError === "object" ? e.driverError : error) as { code?: unknown; message?: unknown; name?: unknown };
}

/** True for a serialization failure or a deadlock: the transaction may simply be run again. */
export function isTransactionConflict(error: unknown): boolean {
  const code = driverErrorOf(error)?.code;
  return code === "40001" || code === "40P01";
}
