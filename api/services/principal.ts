import { ServiceError } from "./errors";

/** Who is calling: an account, signed in with a session token or an API key. */
export interface Principal {
  accountId: string;
  /** Lower-case 0x address. */
  address: string;
  via: "session" | "apiKey";
  apiKeyId?: string;
  /** When the credential stops being valid (sessions only). */
  expiresAt?: Date;
}

/** The principal, or UNAUTHENTICATED when the call carries no valid credential. */
export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) {
    throw new ServiceError("UNAUTHENTICATED", "sign in first: send Authorization: Bearer <session token or API key>");
  }
  return principal;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` is a UUID, as every id here is. */
export function isId(id: string): boolean {
  return UUID.test(id);
}

/** Checks an id is a UUID (ids are opaque to clients but UUIDs here); NOT_FOUND otherwise, as no such row can exist. */
export function assertId(what: string, id: string): void {
  if (!UUID.test(id)) throw new ServiceError("NOT_FOUND", `${what} ${id.slice(0, 64)} does not exist`);
}
