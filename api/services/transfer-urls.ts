import { createHmac, timingSafeEqual } from "node:crypto";
import { forbidden } from "./errors";
import { assertId } from "./principal";

/** What a signed URL moves: a checkpoint, an input, an output, or a job's result manifest (GET only). */
export type TransferKind = "checkpoint" | "input" | "output" | "result";

/**
 * Signed, expiring URLs for transfers through the API: `/transfers/<kind>/<id>?expires=<unix s>&signature=`, an
 * HMAC-SHA256 (base64url) of `<kind>:<put|get>:<id>:<expires>` under the server's secret. A URL signed for one
 * kind, direction or id is refused for any other.
 */
export class TransferUrls {
  constructor(
    private readonly publicUrl: string,
    private readonly secret: string,
    readonly ttlSeconds: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The URL and when it stops working. */
  signed(kind: TransferKind, op: "put" | "get", id: string): { url: string; expiresAt: Date } {
    const expires = Math.floor(this.nowMs() / 1000) + this.ttlSeconds;
    return { url: `${this.publicUrl}/transfers/${kind}/${id}?expires=${expires}&signature=${this.sign(kind, op, id, String(expires))}`, expiresAt: new Date(expires * 1000) };
  }

  url(kind: TransferKind, op: "put" | "get", id: string): string {
    return this.signed(kind, op, id).url;
  }

  /** FORBIDDEN unless the URL's signature is this server's for this transfer and it has not expired. */
  verify(kind: TransferKind, op: "put" | "get", id: string, expires: string | undefined, signature: string | undefined): void {
    assertId(kind, id);
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) throw forbidden("this transfer URL is not signed; ask for a new one");
    const expected = Buffer.from(this.sign(kind, op, id, expires));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw forbidden("this transfer URL's signature is wrong; ask for a new one");
    if (Number(expires) * 1000 < this.nowMs()) throw forbidden("this transfer URL has expired; ask for a new one");
  }

  private sign(kind: string, op: string, id: string, expires: string): string {
    return createHmac("sha256", this.secret).update(`${kind}:${op}:${id}:${expires}`).digest("base64url");
  }
}
