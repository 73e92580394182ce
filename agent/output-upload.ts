import type { Logger } from "pino";
import { backoffMs } from "./backoff";
import { type GraphqlClient, isAuthError, isLostError, isPassingError } from "./client";
import { type Clock, realClock, sleepOn } from "./clock";
import { errorText } from "./error-text";
import type { ManifestEntry } from "./manifest";
import { OutputError } from "./outputs";
import { openUnder } from "./scratch";
import { redact, TransferError, type Transfer } from "./transfer";

/** Retry policy of output uploads; the defaults: 8 tries, 1 s doubled up to 40 s between them (about 2 minutes in all), 2 files at a time. */
export interface OutputUploadPolicy {
  tries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
}

export const OUTPUT_UPLOAD_POLICY: OutputUploadPolicy = { tries: 8, retryBaseMs: 1000, retryMaxMs: 40_000, concurrency: 2 };

/** What {@link uploadOutputs} needs. */
export interface OutputUploadContext {
  client: GraphqlClient;
  transfer: Transfer;
  logger: Logger;
  /** Base of relative upload URLs (the API URL). */
  apiUrl: string;
  assignmentId: string;
  /** Real path of GX_OUTPUT_DIR. */
  outputDir: string;
  /** Aborted when the assignment is lost: the uploads stop and nothing more is sent. */
  lost: AbortSignal;
  clock?: Clock;
  random?: () => number;
  policy?: Partial<OutputUploadPolicy>;
}

/** How the uploads ended: all stored, failed (with the reason for FailAssignment), or the assignment was lost. */
export type OutputUploadOutcome = { kind: "stored" } | { kind: "failed"; reason: string } | { kind: "lost"; why: string };

class Failed extends Error {}
class Lost extends Error {}

/**
 * Uploads each output: `CreateOutputUpload` (name, sha256, size) then a streamed PUT of the file to the returned
 * URL, a few files at a time. 200/201: stored; 400/409/413 and other 4xx: the assignment fails ("could not upload
 * output <name>: <status> <message>"); 403: the URL expired, so it is reserved again for a fresh one; 5xx, network
 * errors and an API answer UNAVAILABLE: retried with exponential backoff, and after the last try the assignment fails
 * ("the store is unavailable: ..."). A lost answer (CONFLICT, FORBIDDEN, NOT_FOUND) or `lost` aborting ends it as
 * lost. The first failure stops the other uploads. Throws only an UNAUTHENTICATED ApiError.
 */
export async function uploadOutputs(entries: readonly ManifestEntry[], ctx: OutputUploadContext): Promise<OutputUploadOutcome> {
  const policy = { ...OUTPUT_UPLOAD_POLICY, ...ctx.policy };
  const clock = ctx.clock ?? realClock;
  const halt = new AbortController();
  const signal = AbortSignal.any([ctx.lost, halt.signal]);
  let outcome: OutputUploadOutcome | null = null;
  let authError: unknown = null;
  const queue = [...entries];

  const worker = async () => {
    for (let entry = queue.shift(); entry && !signal.aborted; entry = queue.shift()) {
      try {
        await uploadOne(entry, ctx, policy, clock, signal);
      } catch (err) {
        if (isAuthError(err)) authError ??= err;
        // the first ending wins: an upload stopped because another one failed is not a lost assignment
        else if (err instanceof Lost || ctx.lost.aborted) outcome ??= { kind: "lost", why: err instanceof Error ? err.message : "the assignment was lost" };
        else outcome ??= { kind: "failed", reason: err instanceof Failed || err instanceof OutputError ? err.message : `could not upload output ${entry.name}: ${errorText(err)}` };
        halt.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(policy.concurrency, entries.length)) }, worker));
  if (authError) throw authError;
  if (ctx.lost.aborted) return { kind: "lost", why: "the assignment was lost" };
  return outcome ?? { kind: "stored" };
}

async function uploadOne(entry: ManifestEntry, ctx: OutputUploadContext, policy: OutputUploadPolicy, clock: Clock, signal: AbortSignal): Promise<void> {
  const { name, sha256, sizeBytes } = entry;
  const log = ctx.logger.child({ output: name });
  let lastProblem = "";
  let expiredInARow = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new Lost("stopped");
    if (attempt > policy.tries) {
      if (expiredInARow === policy.tries) throw new Failed(`could not upload output ${name}: ${lastProblem}`);
      throw new Failed(`the store is unavailable: could not upload output ${name} after ${policy.tries} tries: ${lastProblem}`);
    }
    const retryLater = async (problem: string) => {
      lastProblem = problem;
      expiredInARow = 0;
      if (attempt >= policy.tries) return;
      const delay = backoffMs(attempt - 1, policy.retryBaseMs, policy.retryMaxMs, ctx.random);
      log.warn({ attempt, delayMs: delay, problem }, "output upload failed; will retry");
      await sleepOn(clock, delay, signal);
    };

    let reservation: { uploadUrl: string; directUploadUrl?: string | null; output: { stored: boolean } };
    try {
      const data = await ctx.client.request<{ createOutputUpload: typeof reservation }>(
        "CreateOutputUpload",
        { id: ctx.assignmentId, name, sha256, sizeBytes: String(sizeBytes) },
        { signal },
      );
      reservation = data.createOutputUpload;
    } catch (err) {
      if (isAuthError(err)) throw err;
      if (isLostError(err)) throw new Lost(`CreateOutputUpload refused: ${errorText(err)}`);
      if (signal.aborted) throw new Lost("stopped");
      if (!isPassingError(err)) throw new Failed(`could not reserve output ${name}: ${errorText(err)}`);
      await retryLater(errorText(err));
      continue;
    }
    if (reservation.output?.stored) {
      log.info({ sizeBytes, sha256 }, "output already stored");
      return;
    }

    const url = new URL(reservation.uploadUrl, ctx.apiUrl).toString();
    let file;
    try {
      file = await openUnder(ctx.outputDir, name);
    } catch (err) {
      throw new OutputError(/not a regular file/.test(errorText(err)) ? `output ${name} is not a regular file` : `output ${name} cannot be read: ${errorText(err)}`);
    }
    let answer;
    try {
      if (file.sizeBytes !== sizeBytes) throw new Failed(`output ${name} changed after the workload exited (${sizeBytes} bytes, now ${file.sizeBytes})`);
      answer = await ctx.transfer.put(url, file.readPath, sizeBytes, signal, reservation.directUploadUrl);
    } catch (err) {
      if (err instanceof Failed) throw err;
      if (signal.aborted) throw new Lost("stopped");
      if (err instanceof TransferError && !err.retryable) throw new Failed(`could not upload output ${name}: ${err.message}`);
      await retryLater(`PUT ${redact(url)}: ${errorText(err)}`);
      continue;
    } finally {
      await file.handle.close();
    }
    const { status, message } = answer;
    const said = `${status}${message ? ` ${message}` : ""}`;
    if (status === 200 || status === 201) {
      log.info({ sizeBytes, sha256, status }, "output uploaded");
      return;
    }
    if (status === 403) {
      // the signed URL expired (or its clock disagrees): reserve again, which gives a fresh URL
      lastProblem = `the upload URL was refused: ${said}`;
      expiredInARow += 1;
      log.warn({ attempt }, "output upload URL refused (403); reserving again");
      continue;
    }
    if (status >= 500 || status === 429) {
      await retryLater(said);
      continue;
    }
    // 400 (bytes not as reserved), 409 (reserved with other bytes), 413 (too large) and any other answer
    throw new Failed(`could not upload output ${name}: ${said}`);
  }
}
