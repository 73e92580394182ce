/** The error codes a client can cause (contract README, "Errors"). */
export const SERVICE_ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "INSUFFICIENT_FUNDS",
  "RATE_LIMITED",
] as const;
export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** An error of a use case, with a code from the fixed list and a message that says how to fix it. */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const badInput = (message: string) => new ServiceError("BAD_USER_INPUT", message);
export const notFound = (what: string, id: string) => new ServiceError("NOT_FOUND", `${what} ${id.slice(0, 64)} does not exist`);
export const forbidden = (message: string) => new ServiceError("FORBIDDEN", message);
export const conflict = (message: string) => new ServiceError("CONFLICT", message);

/**
 * Postgres refusing a value the client sent (a NUL in text, a number beyond a column's range) as BAD_USER_INPUT;
 * undefined for any other error. A backstop behind the services' own checks, so such input is never a 500.
 */
export function inputRefusedByDatabase(error: unknown): ServiceError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "22021" || code === "22P05") return badInput("text may not contain NUL or characters that are not UTF-8");
  if (code === "22003") return badInput("a number is beyond what can be stored; send a smaller one");
  return undefined;
}
