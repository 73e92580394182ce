import { sendPut, type PutAnswer } from "./http-put";

/**
 * An upload straight to the store (the reservation's `directUploadUrl`, a presigned S3 PUT), then counted by the API:
 * a PUT of the API's own `uploadUrl` with `Content-Range: bytes *\/<size>` and no body, which checks the staged bytes
 * and stores them as the file (201, or 200 when they were already). The store's refusal (403 expired, 400 bytes not
 * as signed, 5xx) is the answer as it is; an API that finds nothing staged (202) is answered as a 503, retried.
 */
export async function putDirect(directUrl: string, apiUrl: string, file: string, sizeBytes: number, idleTimeoutMs: number, signal?: AbortSignal): Promise<PutAnswer> {
  const sent = await sendPut(directUrl, { file, start: 0, sizeBytes }, {}, idleTimeoutMs, signal);
  if (sent.status < 200 || sent.status >= 300) return { status: sent.status, message: sent.message };
  const counted = await sendPut(apiUrl, undefined, { "content-range": `bytes */${sizeBytes}` }, idleTimeoutMs, signal);
  if (counted.status === 202) return { status: 503, message: "the store took the bytes but the API does not find them yet" };
  return { status: counted.status, message: counted.message };
}
