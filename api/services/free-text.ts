import { badInput } from "./errors";

/**
 * What free text may hold, by kind:
 * - `line` (names, images, labels, references, ids): no control character at all;
 * - `text` (descriptions, arguments, environment values, messages): as `line`, but tab, line feed and a carriage
 *   return before a line feed are allowed.
 * Refused in both: C0 and C1 controls and DEL (so ESC and ANSI escape sequences), Unicode format characters (bidi
 * embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width
 * space U+200B, word joiner and invisible operators U+2060–U+2064, BOM U+FEFF, soft hyphen U+00AD, tag characters,
 * interlinear annotations), line and paragraph separators U+2028/U+2029, Hangul fillers (blank letters) and lone
 * surrogates. Allowed: ZWNJ U+200C and ZWJ U+200D (emoji sequences, Persian and Indic scripts) and every visible
 * character. The bidi marks are refused too: a name is shown on its own, where they serve nothing but to disguise it.
 */
export type TextKind = "line" | "text";

const HANGUL_FILLERS = new Set([0x115f, 0x1160, 0x3164, 0xffa0]);
const FORMAT = /^\p{Cf}$/u;

/** What a refused code point is, or undefined when the kind allows it (`next`: the code unit after it). */
function refusal(cp: number, next: number | undefined, kind: TextKind): string | undefined {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
    if (kind === "text" && (cp === 0x09 || cp === 0x0a || (cp === 0x0d && next === 0x0a))) return undefined;
    return cp === 0x1b ? "an escape character (ANSI escape codes)" : "a control character";
  }
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) return "a bidirectional control";
  if (cp === 0x2028 || cp === 0x2029) return "a line or paragraph separator";
  if (cp >= 0xd800 && cp <= 0xdfff) return "a lone surrogate (not valid Unicode)";
  if (HANGUL_FILLERS.has(cp)) return "a blank filler letter";
  if (cp !== 0x200c && cp !== 0x200d && FORMAT.test(String.fromCodePoint(cp))) return "an invisible formatting character";
  return undefined;
}

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/** Why `value` is refused as free text of `kind` (the first refused character, its code point and place), or undefined. */
export function freeTextProblem(value: string, kind: TextKind = "line"): string | undefined {
  let place = 0;
  for (let i = 0; i < value.length; place++) {
    const cp = value.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const why = refusal(cp, value.charCodeAt(i + width), kind);
    if (why) return `may not contain ${hex(cp)} (${why}, character ${place + 1}): control, bidirectional and invisible formatting characters are refused`;
    i += width;
  }
  return undefined;
}

/** Throws BAD_USER_INPUT naming `field` when `value` is refused as free text of `kind`. */
export function checkFreeText(field: string, value: string, kind: TextKind = "line"): void {
  const problem = freeTextProblem(value, kind);
  if (problem) throw badInput(`${field} ${problem}`);
}

/** `value` with each character refused as `kind` replaced by U+FFFD: for text a workload wrote that must not be lost. */
export function cleanFreeText(value: string, kind: TextKind = "text"): string {
  let out = "";
  for (let i = 0; i < value.length; ) {
    const cp = value.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    out += refusal(cp, value.charCodeAt(i + width), kind) ? "\ufffd" : value.slice(i, i + width);
    i += width;
  }
  return out;
}
