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

/** Postgres SQLSTATEs of a lost connection, a server going down or starting, too many connections, a cancelled statement. */
const OUTAGE_SQLSTATE = /^(08\d{3}|57P0[1-4]|53300|57014)$/;
/** Socket errors of a server that is down or unreachable. */
const OUTAGE_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
/**
 * Messages of pg, pg-pool and TypeORM for a connection that failed or is gone (they carry no code). TypeORM releases
 * a transaction's query runner when its pg connection emits an error, so the transaction's next statement fails with
 * "connection provided by a query runner was already released" (or "Query runner already released"): the same lost
 * connection, seen one statement later.
 */
const OUTAGE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|not queryable|Driver not Connected|the database system is (starting up|shutting down)|connection provided by a query runner was already released|Query runner already released/i;

/** True when the connection failed rather than the statement: Postgres down, starting or gone, the network cut, the pool full. */
export function isConnectionFailure(error: unknown): boolean {
  const e = driverErrorOf(error);
  if (!e) return false;
  const code = typeof e.code === "string" ? e.code : "";
  return OUTAGE_SQLSTATE.test(code) || OUTAGE_ERRNO.has(code) || OUTAGE_MESSAGE.test(typeof e.message === "string" ? e.message : "");
}

/** True for a unique violation of the named index or constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = driverErrorOf(error) as { code?: unknown; constraint?: unknown } | undefined;
  return e?.code === "23505" && e.constraint === constraint;
}
