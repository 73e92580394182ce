import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import type { PendingAssignment } from "./api-types";
import { ApiError, type GraphqlClient, isAuthError, isLostError } from "./client";
import { downloadInputs } from "./assignment-inputs";
import type { Clock } from "./clock";
import { errorText } from "./error-text";
import type { Executor, OutputLine, Workload, WorkloadExit, WorkloadSpec } from "./executors/types";
import { type AppendLogsAnswer, type LogLineInput, LogShipper, type LogShipperLimits } from "./log-shipper";
import { buildManifest } from "./manifest";
import { type OutputUploadPolicy, uploadOutputs } from "./output-upload";
import { collectOutputs, OutputError } from "./outputs";
import { ProgressReporter } from "./progress-reporter";
import { openInside, prepareScratch, scratchDirOf } from "./scratch";
import { redact, sha256Handle, type Transfer } from "./transfer";
import { failureReason, jobEnvRecord, parseWorkloadLine, type ScratchLayout } from "./workload-protocol";

/** What every assignment run shares. */
export interface RunContext {
  client: GraphqlClient;
  executor: Executor;
  transfer: Transfer;
  logger: Logger;
  workDir: string;
  /** Base for relative checkpoint URLs (the API URL). */
  apiUrl: string;
  /** Least time between progress reports (default 1000 ms). */
  progressIntervalMs?: number;
  /** Grace between SIGTERM and SIGKILL when the assignment was taken away (default 10 s). */
  lostGraceMs?: number;
  /** Timers of log batching, log flushing and output upload retries (default: the real clock). */
  clock?: Clock;
  /** Limits of the log shipper (defaults: LOG_LIMITS). */
  logLimits?: Partial<LogShipperLimits>;
  /** Longest wait for the last log lines before CompleteAssignment or FailAssignment (default 10 s). */
  logFlushMs?: number;
  /** Tries, backoff and concurrency of output uploads (defaults: OUTPUT_UPLOAD_POLICY). */
  outputUpload?: Partial<OutputUploadPolicy>;
}

/** The reason sent when a workload exits 0 without writing any output. */
export const NO_OUTPUT = "the workload exited with code 0 but wrote no output (GX_OUTPUT_DIR is empty and GX_RESULT_FILE was not written)";

/** Why a run is being stopped from outside. */
export type StopReason = "shutdown" | "lost" | "timeout";

/**
 * How a run ended: completed or failed (reported to the API), lost (the API took it away: nothing reported),
 * retry (it could not start for a passing reason and stays ASSIGNED), or fatal (the key was refused).
 */
export type RunOutcome = "completed" | "failed" | "lost" | "retry" | "fatal";

/** The reason sent for assignments the agent gives up because it is stopping. */
export const AGENT_STOPPED = "agent stopped";

/**
 * Runs one assignment: scratch folder, resume download and input downloads (sha256 and size checked),
 * StartAssignment, the workload with throttled progress, checkpoint uploads and its log lines shipped, then after
 * exit 0 the outputs uploaded and CompleteAssignment with the manifest's hash, or FailAssignment with the reason
 * (the last log lines flushed first); the scratch folder is deleted at the end.
 */
export class AssignmentRun {
  private stopReason: StopReason | null = null;
  private workload: Workload | null = null;
  private uploads: Promise<void> = Promise.resolve();
  private reported = false;
  private readonly log: Logger;
  private readonly progress: ProgressReporter;
  private layout: ScratchLayout | null = null;
  private readonly uploadedSteps = new Set<number>();
  private shipper: LogShipper | null = null;
  private readonly lost = new AbortController();
  private finishingOutputs = false;

  constructor(
    private readonly ctx: RunContext,
    readonly assignment: PendingAssignment,
    readonly gpuIndexes: readonly number[],
  ) {
    this.log = ctx.logger.child({ assignmentId: assignment.id, jobId: assignment.job.id });
    this.progress = new ProgressReporter((p) => this.sendProgress(p.progress, p.message), ctx.progressIntervalMs ?? 1000);
  }

  /** Whether CompleteAssignment or FailAssignment was sent, or the assignment was lost. */
  get settled(): boolean {
    return this.reported;
  }

  /** Whether the workload exited 0 and its outputs are being uploaded (a stopping agent waits for these). */
  get finishing(): boolean {
    return this.finishingOutputs && !this.reported;
  }

  /** Runs it to the end; never throws. */
  async run(): Promise<RunOutcome> {
    const scratchDir = scratchDirOf(this.ctx.workDir, this.assignment.id);
    try {
      return await this.runIn(scratchDir);
    } catch (err) {
      if (isAuthError(err)) return "fatal";
      this.log.error({ err: errorText(err) }, "assignment run failed unexpectedly");
      await this.fail(`agent error: ${errorText(err)}`.slice(0, 500));
      return "failed";
    } finally {
      this.progress.close();
      this.shipper?.close();
      await rm(scratchDir, { recursive: true, force: true }).catch((err) => this.log.warn({ err: errorText(err), scratchDir }, "could not delete the scratch folder"));
    }
  }

  /** Asks the workload to stop: SIGTERM now, SIGKILL after `graceMs`. The first reason given wins. */
  requestStop(reason: StopReason, graceMs: number): void {
    this.stopReason ??= reason;
    if (reason === "lost") {
      this.reported = true;
      this.progress.close();
      this.shipper?.close();
      this.lost.abort();
    }
    void this.workload?.stop(graceMs);
  }

  /**
   * Sends FailAssignment unless the run already reported (used when a stopping agent gives up waiting); a run
   * uploading the outputs of a finished workload is left to finish.
   */
  async failIfUnsettled(reason: string): Promise<void> {
    if (this.finishingOutputs) return;
    await this.fail(reason);
  }

  private async runIn(scratchDir: string): Promise<RunOutcome> {
    const a = this.assignment;
    const { env: jobEnv, dropped } = jobEnvRecord(a.job.env);
    if (dropped.length > 0) this.log.warn({ dropped }, "job env names that are not identifiers were left out");
    const spec: WorkloadSpec = {
      assignmentId: a.id,
      scratchDir,
      image: a.job.image,
      command: a.job.command,
      jobEnv,
      protocol: {
        jobId: a.job.id,
        assignmentId: a.id,
        attempt: a.attempt,
        resumeStep: a.resumeFrom?.step ?? null,
        inputUri: a.job.inputUri,
        checkpointIntervalSeconds: a.job.checkpointIntervalSeconds,
        gpuIndexes: this.gpuIndexes,
      },
    };
    const refusal = this.ctx.executor.refusal(spec);
    if (refusal) return this.failWith(refusal);

    const layout = await prepareScratch(scratchDir);
    this.layout = layout;
    spec.scratchDir = layout.root;
    if (a.resumeFrom) {
      const url = new URL(a.resumeFrom.downloadUrl, this.ctx.apiUrl).toString();
      let sha256: string;
      try {
        ({ sha256 } = await this.ctx.transfer.download(url, layout.resumeFile));
      } catch (err) {
        return this.failWith(`could not download the checkpoint of step ${a.resumeFrom.step} to resume from: ${errorText(err)}`);
      }
      if (sha256 !== a.resumeFrom.sha256.toLowerCase()) {
        return this.failWith(`the checkpoint of step ${a.resumeFrom.step} to resume from has sha256 ${sha256}, expected ${a.resumeFrom.sha256.toLowerCase()}`);
      }
      this.log.info({ step: a.resumeFrom.step }, "resume checkpoint downloaded");
    }
    const inputs = await this.downloadInputs(layout);
    if (inputs !== null) return inputs;
    if (this.stopReason === "shutdown") return this.failWith(AGENT_STOPPED);

    try {
      await this.ctx.client.request("StartAssignment", { id: a.id });
    } catch (err) {
      if (isAuthError(err)) throw err;
      if (isLostError(err)) {
        this.log.warn({ err: errorText(err) }, "assignment could not be started; it is no longer this node's");
        this.reported = true;
        return "lost";
      }
      this.log.warn({ err: errorText(err) }, "StartAssignment failed; will try again");
      return "retry";
    }
    this.log.info({ attempt: a.attempt, resumeStep: a.resumeFrom?.step ?? null, gpus: this.gpuIndexes }, "assignment started");

    this.shipper = new LogShipper({
      send: (lines: LogLineInput[]) => this.ctx.client.request<{ appendLogs: AppendLogsAnswer }>("AppendLogs", { id: a.id, lines }).then((d) => d.appendLogs),
      logger: this.log,
      clock: this.ctx.clock,
      limits: this.ctx.logLimits,
    });
    const workload = this.ctx.executor.start(spec, (line) => this.onLine(line));
    this.workload = workload;
    if (this.stopReason) void workload.stop(this.stopReason === "lost" ? this.lostGraceMs : 30_000);
    const limitS = a.job.maxDurationSeconds;
    const limit = limitS !== null ? setTimeout(() => this.requestStop("timeout", 10_000), limitS * 1000) : null;
    const exit = await workload.exit;
    if (limit) clearTimeout(limit);
    await this.uploads;
    if (this.reported) return "lost";
    await this.progress.flush();
    if (this.reported) return "lost";
    return this.finish(exit, layout);
  }

  private get lostGraceMs(): number {
    return this.ctx.lostGraceMs ?? 10_000;
  }

  private async finish(exit: WorkloadExit, layout: ScratchLayout): Promise<RunOutcome> {
    if (exit.code === 0 && exit.error === undefined) return this.finishOutputs(layout);
    if (this.stopReason === "shutdown") return this.failWith(AGENT_STOPPED);
    if (this.stopReason === "timeout") return this.failWith(`stopped after the job's maxDurationSeconds (${this.assignment.job.maxDurationSeconds} s)`);
    return this.failWith(failureReason(exit));
  }

  /** Exit 0: the outputs walked and hashed, the manifest built, each output uploaded, then CompleteAssignment with its hash. */
  private async finishOutputs(layout: ScratchLayout): Promise<RunOutcome> {
    this.finishingOutputs = true;
    let manifest;
    try {
      const entries = await collectOutputs(layout.outputDir);
      if (entries.length === 0) return this.failWith(NO_OUTPUT);
      manifest = buildManifest(entries);
    } catch (err) {
      if (err instanceof OutputError) return this.failWith(err.message.slice(0, 500));
      throw err;
    }
    const totalBytes = manifest.entries.reduce((n, e) => n + e.sizeBytes, 0);
    this.log.info({ outputs: manifest.entries.length, totalBytes, resultHash: manifest.resultHash }, "uploading outputs");
    const uploaded = await uploadOutputs(manifest.entries, {
      client: this.ctx.client,
      transfer: this.ctx.transfer,
      logger: this.log,
      apiUrl: this.ctx.apiUrl,
      assignmentId: this.assignment.id,
      outputDir: layout.outputDir,
      lost: this.lost.signal,
      clock: this.ctx.clock,
      policy: this.ctx.outputUpload,
    });
    if (uploaded.kind === "lost" || this.lost.signal.aborted) {
      this.log.warn({ why: uploaded.kind === "lost" ? uploaded.why : "lost" }, "the assignment is no longer this node's; outputs not completed");
      this.reported = true;
      return "lost";
    }
    if (uploaded.kind === "failed") return this.failWith(uploaded.reason.slice(0, 500));
    await this.flushLogs();
    if (this.reported) return "lost";
    const resultHash = manifest.resultHash;
    try {
      await this.ctx.client.request("CompleteAssignment", { id: this.assignment.id, resultHash });
      this.reported = true;
      this.log.info({ resultHash, outputs: manifest.entries.length }, "assignment completed");
      return "completed";
    } catch (err) {
      if (isAuthError(err)) throw err;
      this.reported = true;
      this.log.error({ err: errorText(err) }, "CompleteAssignment was refused");
      return isLostError(err) ? "lost" : "failed";
    }
  }

  /** The job's inputs put in place under inputs/ (assignment-inputs.ts): null when they are, else how the run ends. */
  private async downloadInputs(layout: ScratchLayout): Promise<RunOutcome | null> {
    const ctx = { client: this.ctx.client, transfer: this.ctx.transfer, apiUrl: this.ctx.apiUrl, log: this.log, stopping: () => this.stopReason === "shutdown" };
    const got = await downloadInputs(ctx, this.assignment.id, layout.inputDir);
    switch (got.kind) {
      case "ready":
        return null;
      case "lost":
        this.reported = true;
        return "lost";
      case "retry":
        return "retry";
      case "stopped":
        return this.failWith(AGENT_STOPPED);
      case "failed":
        return this.failWith(got.reason);
    }
  }

  /** Sends the last log lines (a bounded wait) and stops the shipper. */
  private async flushLogs(): Promise<void> {
    const shipper = this.shipper;
    if (!shipper) return;
    await shipper.flush(this.ctx.logFlushMs ?? 10_000);
    shipper.close();
  }

  /** A stdout line: progress, a checkpoint, or else a log line; every stderr line is a log line. */
  private onLine(line: OutputLine): void {
    if (line.stream === "stderr") {
      this.shipper?.push("STDERR", line.text);
      return;
    }
    const parsed = parseWorkloadLine(line.text);
    if (parsed.kind === "progress") this.progress.push({ progress: parsed.progress, message: parsed.message });
    else if (parsed.kind === "checkpoint") {
      this.uploads = this.uploads.then(() => this.uploadCheckpoint(parsed.step, parsed.fileName));
    } else {
      this.shipper?.push("STDOUT", line.text);
      this.log.trace({ line: parsed.text.slice(0, 1000) }, "workload output");
    }
  }

  private async sendProgress(progress: number, message: string | null): Promise<void> {
    if (this.stopReason === "lost") return;
    try {
      await this.ctx.client.request("ReportProgress", { id: this.assignment.id, progress, message });
    } catch (err) {
      this.onReportError(err, "ReportProgress");
    }
  }

  private onReportError(err: unknown, what: string): void {
    if (isLostError(err)) {
      this.log.warn({ err: errorText(err) }, `${what} refused: the assignment is no longer this node's; stopping the workload`);
      this.requestStop("lost", this.lostGraceMs);
    } else {
      this.log.warn({ err: errorText(err) }, `${what} failed`);
    }
  }

  private async uploadCheckpoint(step: number, fileName: string): Promise<void> {
    if (this.stopReason === "lost" || !this.layout) return;
    if (this.uploadedSteps.has(step)) {
      this.log.debug({ step }, "checkpoint of this step already uploaded; skipped");
      return;
    }
    let file;
    try {
      file = await openInside(this.layout.checkpointDir, fileName);
    } catch (err) {
      this.log.warn({ step, fileName, err: errorText(err) }, "announced checkpoint is not a readable file in GX_CHECKPOINT_DIR; skipped");
      return;
    }
    try {
      const { sha256, sizeBytes } = await sha256Handle(file.handle);
      let uploadUrl: string;
      let directUrl: string | null = null;
      try {
        const data = await this.ctx.client.request<{ createCheckpointUpload: { uploadUrl: string; directUploadUrl?: string | null } }>("ReserveCheckpoint", {
          id: this.assignment.id,
          step,
          sha256,
          sizeBytes: String(sizeBytes),
        });
        uploadUrl = new URL(data.createCheckpointUpload.uploadUrl, this.ctx.apiUrl).toString();
        directUrl = data.createCheckpointUpload.directUploadUrl ?? null;
      } catch (err) {
        if (err instanceof ApiError && err.code === "CONFLICT") this.log.warn({ step, err: errorText(err) }, "checkpoint not accepted");
        else this.onReportError(err, "ReserveCheckpoint");
        return;
      }
      const status = await this.ctx.transfer.upload(uploadUrl, file.readPath, sizeBytes, directUrl);
      if (status >= 200 && status < 300) {
        this.uploadedSteps.add(step);
        this.log.info({ step, sizeBytes, sha256 }, "checkpoint uploaded");
      }
      else this.log.warn({ step, status, url: redact(uploadUrl) }, "checkpoint upload refused");
    } catch (err) {
      this.log.warn({ step, err: errorText(err) }, "checkpoint upload failed");
    } finally {
      await file.handle.close();
    }
  }

  private async failWith(reason: string): Promise<RunOutcome> {
    await this.fail(reason);
    return "failed";
  }

  private async fail(reason: string): Promise<void> {
    if (this.reported) return;
    await this.flushLogs();
    if (this.reported) return;
    this.reported = true;
    try {
      await this.ctx.client.request("FailAssignment", { id: this.assignment.id, reason });
      this.log.warn({ reason }, "assignment failed");
    } catch (err) {
      if (isAuthError(err)) throw err;
      this.log.error({ err: errorText(err), reason }, "FailAssignment was refused");
    }
  }
}
