import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, RequestListener, ServerResponse } from "node:http";

/**
 * A front for s3rver, which checks no SigV4 signature at all (it only looks the access key up): like S3 and MinIO,
 * this refuses (403) a presigned (query-string SigV4) request whose signature is not `secretAccessKey`'s for that
 * method, path, query and signed headers, or whose time is up, and an anonymous request; requests signed in the
 * Authorization header go through as they are. The signature is computed here from AWS's SigV4 description, not
 * with the SDK's signer, so a presigned URL the adapter makes is checked independently of how it was made.
 */
export function signatureGate(secretAccessKey: string, handler: RequestListener, nowMs: () => number = Date.now): RequestListener {
  return (req, res) => {
    if (req.headers.authorization) return handler(req, res);
    const problem = presignProblem(req.method ?? "GET", req.url ?? "/", req.headers, secretAccessKey, nowMs());
    if (problem) return deny(res, problem.code, problem.message);
    handler(req, res);
  };
}

/** Why a presigned request is refused, or undefined when its signature holds. */
export function presignProblem(method: string, rawUrl: string, headers: IncomingHttpHeaders, secret: string, nowMs: number): { code: string; message: string } | undefined {
  const mark = rawUrl.indexOf("?");
  const [path, rawQuery] = mark < 0 ? [rawUrl, ""] : [rawUrl.slice(0, mark), rawUrl.slice(mark + 1)];
  const params = rawQuery
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? ([decode(pair), ""] as const) : ([decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))] as const);
    });
  const get = (name: string) => params.find(([k]) => k === name)?.[1];
  if (get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") return { code: "AccessDenied", message: "anonymous requests are refused" };
  const [credential, amzDate, expires, signedHeaders, signature] = ["X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"].map(get);
  if (!credential || !amzDate || !expires || !signedHeaders || !signature) return { code: "AuthorizationQueryParametersError", message: "a SigV4 query parameter is missing" };
  const [, date, region, service, terminal] = credential.split("/");
  const time = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!time || terminal !== "aws4_request" || date !== amzDate.slice(0, 8)) return { code: "AuthorizationQueryParametersError", message: "malformed credential or date" };
  const signedAtMs = Date.UTC(+time[1], +time[2] - 1, +time[3], +time[4], +time[5], +time[6]);
  if (nowMs > signedAtMs + Number(expires) * 1000) return { code: "AccessDenied", message: "Request has expired" };

  const query = params
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders.split(";");
  const canonicalHeaders = names.map((h) => `${h}:${String(headers[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const payload = get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD";
  const canonicalRequest = [method, path, query, canonicalHeaders, signedHeaders, payload].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  let key: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of [date, region, service, "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  const expected = Buffer.from(createHmac("sha256", key).update(stringToSign).digest("hex"));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided." };
  }
  return undefined;
}

function deny(res: ServerResponse, code: string, message: string): void {
  res.writeHead(403, { "content-type": "application/xml" });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
/** SigV4's URI encoding: everything but unreserved characters (A-Z a-z 0-9 - _ . ~) percent-encoded. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
