import { createHmac, timingSafeEqual } from "node:crypto";
import { forbidden } from "./errors";
import { assertId } from "./principal";

/**
 * Signed, expiring URLs for checkpoint transfers on the API itself: `/checkpoints/<id>?expires=<unix s>&signature=`,
 * an HMAC-SHA256 (base64url) of `checkpoint:<put|get>:<id>:<expires>` under the server's secret.
 */
export class TransferUrls {
  constructor(
    private readonly publicUrl: string,
    private readonly secret: string,
    private readonly ttlSeconds: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  url(kind: "put" | "get", id: string): string {
    const expires = String(Math.floor(this.nowMs() / 1000) + this.ttlSeconds);
    return `${this.publicUrl}/checkpoints/${id}?expires=${expires}&signature=${this.sign(kind, id, expires)}`;
  }

  /** FORBIDDEN unless the URL's signature is this server's for this transfer and it has not expired. */
  verify(kind: "put" | "get", id: string, expires: string | undefined, signature: string | undefined): void {
    assertId("checkpoint", id);
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) throw forbidden("this transfer URL is not signed; ask for a new one");
    const expected = Buffer.from(this.sign(kind, id, expires));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw forbidden("this transfer URL's signature is wrong; ask for a new one");
    if (Number(expires) * 1000 < this.nowMs()) throw forbidden("this transfer URL has expired; ask for a new one");
  }

  private sign(kind: string, id: string, expires: string): string {
    return createHmac("sha256", this.secret).update(`checkpoint:${kind}:${id}:${expires}`).digest("base64url");
  }
}
