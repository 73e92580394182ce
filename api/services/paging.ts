import { badInput } from "./errors";

/** Opaque cursor of a row's place in a newest-first list: "<kind>:<ordinal>" in base64url. */
export function ordinalCursor(kind: string, ordinal: bigint): string {
  return Buffer.from(`${kind}:${ordinal}`).toString("base64url");
}

/** Decodes an ordinal cursor of this kind; BAD_USER_INPUT when it is not one. */
export function decodeOrdinalCursor(kind: string, cursor: string): bigint {
  const match = new RegExp(`^${kind}:(\\d{1,20})$`).exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw badInput("after is not a cursor of this list; pass an endCursor or cursor it returned");
  return BigInt(match[1]);
}

export const PAGE_DEFAULT = 20;
export const PAGE_MAX = 100;

/** The page size asked for: 1 to 100, 20 when left out; BAD_USER_INPUT otherwise. */
export function pageSize(first: number | undefined | null): number {
  if (first === undefined || first === null) return PAGE_DEFAULT;
  if (!Number.isInteger(first) || first < 1 || first > PAGE_MAX) throw badInput(`first must be from 1 to ${PAGE_MAX}, got ${first}`);
  return first;
}
