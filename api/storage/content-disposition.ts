/** The longest download name kept, in code points; a longer one is cut (its extension may be lost). */
export const MAX_FILE_NAME_CHARS = 200;

const FALLBACK_NAME = "download";
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A `Content-Disposition` that saves the response as `fileName` (RFC 6266): `attachment; filename="<ascii>";
 * filename*=UTF-8''<percent-encoded>`. Control and format characters are dropped, a lone surrogate becomes U+FFFD, and the name cut to
 * {@link MAX_FILE_NAME_CHARS}; in the quoted ASCII form every character outside printable ASCII, and `"`, `\`, `/`,
 * `%`, becomes `_`; the RFC 8187 form keeps the name, path separators replaced by `_`. An empty name becomes
 * "download". The result is printable ASCII only, so it is safe in a header and in a presigned URL's query.
 */
export function attachmentDisposition(fileName: string): string {
  const wellFormed = fileName.replace(LONE_SURROGATE, "\ufffd").replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, "");
  const cleaned = [...wellFormed].slice(0, MAX_FILE_NAME_CHARS).join("").replace(/[/\\]/g, "_").trim();
  const name = cleaned === "" ? FALLBACK_NAME : cleaned;
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** RFC 8187's value-chars: UTF-8 percent-encoded, leaving only attr-char (ALPHA DIGIT !#$&+-.^_`|~) as it is. */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
