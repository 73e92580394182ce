import { redact, sendPut, TransferError, type PutAnswer, type SentAnswer } from "./http-put";

/** Files from this size on go resumably (smaller ones are sent again whole: one request instead of two). */
export const RESUMABLE_MIN_BYTES = 8 * 1024 * 1024;

/** Rounds of asking and sending in one upload before giving up (an offset that keeps moving under us). */
const MAX_ROUNDS = 4;

/** Whether `url` is one of the API's signed transfer URLs, which take resumable PUTs (presigned store URLs do not). */
export function isResumableUrl(url: string): boolean {
  return new URL(url).pathname.includes("/transfers/");
}

/**
 * A resumable upload (agent/README.md, "Resumable uploads"): asks how many bytes the server has (`PUT` with
 * `Content-Range: bytes *\/<size>` and no body: 202 with `Upload-Offset`, or 200/201 when the upload is complete),
 * then sends the rest (`Content-Range: bytes <offset>-<size-1>/<size>`). A try that broke off, in this process or in
 * an agent that was killed, has left its bytes with the server, so they are not sent again. A 409 with
 * `Upload-Offset` (another request moved the offset) asks again. Any other answer is returned as it is.
 */
export async function putResumable(url: string, file: string, sizeBytes: number, idleTimeoutMs: number, signal?: AbortSignal): Promise<PutAnswer> {
  let last: SentAnswer | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const asked = await sendPut(url, undefined, { "content-range": `bytes */${sizeBytes}` }, idleTimeoutMs, signal);
    if (asked.status !== 202) return { status: asked.status, message: asked.message };
    const offset = offsetOf(asked, url, sizeBytes);
    const rest = sizeBytes - offset;
    last = await sendPut(url, { file, start: offset, sizeBytes: rest }, { "content-range": `bytes ${offset}-${sizeBytes - 1}/${sizeBytes}` }, idleTimeoutMs, signal);
    if (last.status === 409 && last.headers["upload-offset"] !== undefined) continue;
    if (last.status === 202) continue;
    return { status: last.status, message: last.message, resumedFrom: offset };
  }
  throw new TransferError(`PUT ${redact(url)}: the upload's offset kept moving (${last?.status} ${last?.message})`, true);
}

function offsetOf(answer: SentAnswer, url: string, sizeBytes: number): number {
  const header = answer.headers["upload-offset"];
  const offset = typeof header === "string" && /^\d{1,16}$/.test(header) ? Number(header) : NaN;
  if (!(offset >= 0 && offset < sizeBytes)) throw new TransferError(`PUT ${redact(url)} answered 202 with an offset of ${JSON.stringify(header)} for ${sizeBytes} bytes`, true);
  return offset;
}
