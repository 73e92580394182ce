import type { DataSource, EntityManager } from "typeorm";
import { recordBookChanges, type BookDelta, type LevelChange } from "../db/repositories/book.repository";
import { assignmentsByIds, lockJob, moveJob, type AssignmentRecord } from "../db/repositories/job.repository";
import {
  ASSIGNMENT_OFFERED_TOPIC,
  checkpointsOfJobs,
  countOutcome,
  endAssignment,
  jobIdOfAssignment,
  lapsedAssignments,
  latestCheckpoint,
  lockAssignment,
  recordAssignmentProgress,
  recordJobEvent,
  reserveCheckpoint,
  startAssignment,
  type AssignmentOfferedEvent,
  type CheckpointRecord,
  type LiveAssignment,
} from "../db/repositories/lifecycle.repository";
import { inTransaction } from "../db/transaction";
import type { EventStreams } from "./events";
import { ServiceError, badInput, conflict, forbidden, notFound } from "./errors";
import { concludeJob } from "./job-conclusion";
import type { MatchRequests } from "./job.service";
import type { BookChangeListener } from "./book-changes";
import { assertId, requirePrincipal, type Principal } from "./principal";
import type { TransferUrls } from "./transfer-urls";
import type { ArtifactService } from "./artifact.service";
import { touchBlob } from "../db/repositories/artifact.repository";
import { assignmentsOfNode, jobProgress, nodeLastHeartbeat, nodeProviderId, recomputeJobProgress } from "../db/repositories/assignment.repository";
import { systemClock, type Clock } from "./clock";

export type { AssignmentOfferedEvent, JobProgressEvent } from "../db/repositories/lifecycle.repository";

export interface LifecycleSettings {
  /** A new assignment's time to start, and a running one's time between renewals (progress, heartbeats). */
  leaseMs: number;
  /**
   * A node silent this long (no heartbeat, and its assignment no progress) has its live assignments taken over
   * before their lease lapses; undefined: only leases count.
   */
  silenceMs?: number;
  /** Attempts per replica before the job fails. */
  maxAttempts: number;
  checkpointMaxBytes: number;
  /** Lifetime of upload and download URLs. */
  transferUrlTtlSeconds: number;
}

export interface ResumePoint {
  checkpoint: CheckpointRecord;
  downloadUrl: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_STEP = 1_000_000_000;
/** The most assignments one read of a node's assignments returns (oldest first). */
export const MAX_NODE_ASSIGNMENTS_LISTED = 100;

/**
 * A job's life after matching, on the provider's side: start, progress (which renews the lease), checkpoints
 * (reserved, then PUT with size and sha256 checked), completion with a result hash, failure; lapsed leases
 * expire. After every end of an assignment the job is concluded: a majority of result hashes completes it
 * (charges at the trade price for the run time, the hold released), a missing replica goes back to matching
 * (resuming from its last whole checkpoint) until its attempts run out, and the final failure releases the hold.
 */
export class AssignmentService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: LifecycleSettings,
    private readonly onBookChange: BookChangeListener,
    private readonly matches: MatchRequests,
    private readonly onError: (err: unknown, what: string) => void,
    private readonly events: EventStreams,
    private readonly urls: TransferUrls,
    private readonly artifacts: Pick<ArtifactService, "assertResultOfOutputs" | "directUploadUrl">,
    private readonly clock: Clock = systemClock,
  ) {}

  /** New assignments of a node of the caller's, as they are made. */
  async offeredStream(principal: Principal | undefined, nodeId: string): Promise<AsyncIterableIterator<AssignmentOfferedEvent>> {
    await this.ownNode(requirePrincipal(principal), nodeId);
    return this.events.listen<AssignmentOfferedEvent>(ASSIGNMENT_OFFERED_TOPIC, nodeId);
  }

  private async ownNode(who: Principal, nodeId: string): Promise<void> {
    assertId("node", nodeId);
    const node = await nodeProviderId(this.db, nodeId);
    if (!node) throw notFound("node", nodeId);
    if (node.providerId !== who.accountId) throw forbidden("this node belongs to another provider");
  }

  /** A node's first `first` assignments (the caller's node), oldest first; optionally of one status. */
  async forNode(principal: Principal | undefined, nodeId: string, status: string | undefined, first = MAX_NODE_ASSIGNMENTS_LISTED): Promise<AssignmentRecord[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_NODE_ASSIGNMENTS_LISTED) throw badInput(`first must be from 1 to ${MAX_NODE_ASSIGNMENTS_LISTED}, got ${first}`);
    await this.ownNode(requirePrincipal(principal), nodeId);
    return assignmentsOfNode(this.db, nodeId, status, first);
  }

  async byIds(ids: readonly string[]): Promise<AssignmentRecord[]> {
    return assignmentsByIds(this.db, ids);
  }

  /** Whole checkpoints of these jobs. */
  async checkpointsOf(jobIds: readonly string[]): Promise<CheckpointRecord[]> {
    return checkpointsOfJobs(this.db, jobIds);
  }

  /** Where a new attempt resumes: the replica's last whole checkpoint, with a signed download URL. */
  async resumePoint(a: Pick<AssignmentRecord, "jobId" | "replica" | "resumedFromStep">): Promise<ResumePoint | undefined> {
    if (a.resumedFromStep === null) return undefined;
    const checkpoint = await latestCheckpoint(this.db, a.jobId, a.replica);
    if (!checkpoint) return undefined;
    return { checkpoint, downloadUrl: this.urls.url("checkpoint", "get", checkpoint.id) };
  }

  /** ASSIGNED -> RUNNING; the lease starts over. Starting a RUNNING assignment again returns it. */
  async start(principal: Principal | undefined, id: string, now = this.clock.now()): Promise<LiveAssignment> {
    return this.act(principal, id, async (tx, a) => {
      if (a.status === "RUNNING") return { result: a };
      const lease = this.leaseFrom(now);
      if (a.status !== "ASSIGNED" || !(await startAssignment(tx, id, now, lease))) throw conflict(`this assignment is ${a.status}; it cannot start`);
      await moveJob(tx, a.jobId, ["MATCHED"], "RUNNING");
      const progress = await jobProgress(tx, a.jobId);
      await recordJobEvent(tx, { jobId: a.jobId, progress, message: "started", assignmentId: a.id }, now);
      return { result: { ...a, status: "RUNNING" as const, startedAt: now, leaseExpiresAt: lease } };
    });
  }

  /** Progress in [0, 1] with an optional message; renews the lease. CONFLICT once the assignment is not RUNNING. */
  async progress(principal: Principal | undefined, id: string, progress: number, message: string | null | undefined, now = this.clock.now()): Promise<LiveAssignment> {
    if (!Number.isFinite(progress) || progress < 0 || progress > 1) throw badInput(`progress must be from 0 to 1, got ${progress}`);
    if (message && message.length > 500) throw badInput("message may be at most 500 characters");
    return this.act(principal, id, async (tx, a) => {
      const lease = this.leaseFrom(now);
      if (a.status !== "RUNNING" || !(await recordAssignmentProgress(tx, id, progress, message ?? null, lease))) {
        throw conflict(`this assignment is ${a.status}; start it first, or stop: it was taken over`);
      }
      const jobProgressNow = await recomputeJobProgress(tx, a.jobId, message ?? null);
      await recordJobEvent(tx, { jobId: a.jobId, progress: jobProgressNow, message: message ?? null, assignmentId: a.id }, now);
      return { result: { ...a, leaseExpiresAt: lease } };
    });
  }

  /** Reserves a checkpoint of a RUNNING assignment and returns where to PUT its bytes. */
  async createCheckpointUpload(
    principal: Principal | undefined,
    id: string,
    step: number,
    sha256: string,
    sizeBytes: bigint,
  ): Promise<{ checkpoint: CheckpointRecord; uploadUrl: string; directUploadUrl: string | null }> {
    if (!Number.isInteger(step) || step < 0 || step > MAX_STEP) throw badInput(`step must be a whole number from 0 to ${MAX_STEP}`);
    const hash = sha256.toLowerCase();
    if (!HEX64.test(hash)) throw badInput("sha256 must be 64 hexadecimal characters");
    if (sizeBytes < 0n) throw badInput("sizeBytes must be 0 or more");
    if (sizeBytes > BigInt(this.settings.checkpointMaxBytes)) throw new ServiceError("PAYLOAD_TOO_LARGE", `a checkpoint may be at most ${this.settings.checkpointMaxBytes} bytes; this one declares ${sizeBytes}`);
    const reserved = await this.act(principal, id, async (tx, a) => {
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; checkpoints come from running work`);
      await touchBlob(tx, hash, sizeBytes);
      const checkpoint = await reserveCheckpoint(tx, a, step, hash, sizeBytes);
      if (!checkpoint) throw conflict(`step ${step} of this assignment is already stored`);
      return { result: { checkpoint, uploadUrl: this.urls.url("checkpoint", "put", checkpoint.id) } };
    });
    const direct = await this.artifacts.directUploadUrl("checkpoint", reserved.checkpoint.id, { sha256: hash, sizeBytes });
    return { ...reserved, directUploadUrl: direct?.url ?? null };
  }

  /** Completes a RUNNING assignment with its result hash; the same hash again changes nothing, another is CONFLICT. */
  async complete(principal: Principal | undefined, id: string, resultHash: string, resultUri: string | null | undefined, now = this.clock.now()): Promise<LiveAssignment> {
    const hash = resultHash.toLowerCase();
    if (!HEX64.test(hash)) throw badInput("resultHash must be the sha256 of the result: 64 hexadecimal characters");
    if (resultUri && (resultUri.length > 2048 || !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(resultUri))) throw badInput("resultUri must be a URI of at most 2048 characters");
    return this.act(principal, id, async (tx, a, freed) => {
      if (a.status === "COMPLETED" || a.status === "REJECTED") {
        if (a.resultHash === hash) return { result: a };
        throw conflict("this assignment was already completed with another result");
      }
      if (a.status === "RUNNING") await this.artifacts.assertResultOfOutputs(tx, a.id, hash);
      const ended = a.status === "RUNNING" ? await endAssignment(tx, a, "COMPLETED", { resultHash: hash, resultUri: resultUri ?? null }, now, freed) : undefined;
      if (!ended) throw conflict(`this assignment is ${a.status}; only running work completes`);
      const concluded = await concludeJob(tx, a.jobId, this.settings.maxAttempts, now, freed);
      return { result: { ...a, status: "COMPLETED" as const, resultHash: hash, progress: 1 }, changes: [...(ended.change ? [ended.change] : []), ...concluded.changes], requeue: concluded.requeue };
    });
  }

  /** Fails an assignment of the caller's (the agent gave up); the job goes back to matching or fails. */
  async fail(principal: Principal | undefined, id: string, reason: string, now = this.clock.now()): Promise<LiveAssignment> {
    const why = reason.trim().slice(0, 500);
    if (!why) throw badInput("say why it failed (reason)");
    return this.act(principal, id, async (tx, a, freed) => {
      if (a.status === "FAILED") return { result: a };
      const ended = a.status === "ASSIGNED" || a.status === "RUNNING" ? await endAssignment(tx, a, "FAILED", { reason: why }, now, freed) : undefined;
      if (!ended) throw conflict(`this assignment is ${a.status}; it cannot fail now`);
      await countOutcome(tx, a.providerId, "failed_jobs");
      const concluded = await concludeJob(tx, a.jobId, this.settings.maxAttempts, now, freed);
      return { result: { ...a, status: "FAILED" as const }, changes: [...(ended.change ? [ended.change] : []), ...concluded.changes], requeue: concluded.requeue };
    });
  }

  /**
   * Takes over live assignments whose agent is gone: the lease lapsed (no progress or heartbeat renewed it), or the
   * node and its work sent nothing for `silenceMs` (a dead agent is noticed in a few missed heartbeats, not a whole
   * lease). Candidates are found without locks and checked again under the job's lock (a heartbeat may have come in
   * between). Each is EXPIRED and its job concluded (matched again elsewhere, resuming from its last checkpoint).
   * Returns how many.
   */
  async expireLapsed(now = this.clock.now(), limit = 200): Promise<number> {
    let expired = 0;
    const silentSince = this.settings.silenceMs === undefined ? undefined : new Date(now.getTime() - this.settings.silenceMs);
    const silence = silentSince && { since: silentSince, renewedBefore: new Date(silentSince.getTime() + this.settings.leaseMs) };
    for (const { id, jobId } of await lapsedAssignments(this.db, now, limit, silence)) {
      const freed: string[] = [];
      const outcome = await inTransaction(this.db, async (tx) => {
        freed.length = 0;
        await lockJob(tx, jobId);
        const a = await lockAssignment(tx, id);
        if (!a || (a.status !== "ASSIGNED" && a.status !== "RUNNING")) return undefined;
        const lastHeartbeatAt = await nodeLastHeartbeat(tx, a.nodeId);
        const lapsed = a.leaseExpiresAt !== null && a.leaseExpiresAt < now;
        const silent =
          silence !== undefined && (!lastHeartbeatAt || lastHeartbeatAt < silence.since) && a.createdAt < silence.since && a.leaseExpiresAt !== null && a.leaseExpiresAt < silence.renewedBefore;
        if (!lapsed && !silent) return undefined;
        const reason = lapsed ? "lease lapsed: no progress or heartbeat in time" : "the node stopped sending heartbeats";
        const ended = await endAssignment(tx, a, "EXPIRED", { reason }, now, freed);
        if (!ended) return undefined;
        await countOutcome(tx, a.providerId, "expired_jobs");
        const concluded = await concludeJob(tx, a.jobId, this.settings.maxAttempts, now, freed);
        const deltas = await recordBookChanges(tx, [...(ended.change ? [ended.change] : []), ...concluded.changes]);
        return { deltas, requeue: concluded.requeue, jobId: a.jobId };
      });
      if (!outcome) continue;
      expired++;
      this.after(outcome.deltas, outcome.requeue ? [outcome.jobId] : [], freed);
    }
    return expired;
  }

  /**
   * Runs a change of one assignment of the caller's in a transaction, then publishes and requeues. Locks in the one
   * order every writer of a job's assignments follows (the job, then the assignment), so racing changes queue
   * behind each other instead of deadlocking; a transaction that still loses is run again (inTransaction).
   */
  private async act<T>(
    principal: Principal | undefined,
    id: string,
    work: (tx: EntityManager, a: LiveAssignment, freed: string[]) => Promise<{ result: T; changes?: LevelChange[]; requeue?: boolean }>,
  ): Promise<T> {
    const who = requirePrincipal(principal);
    assertId("assignment", id);
    const jobId = await jobIdOfAssignment(this.db, id);
    if (!jobId) throw notFound("assignment", id);
    const freed: string[] = [];
    const { result, deltas, requeue } = await inTransaction(this.db, async (tx) => {
      freed.length = 0;
      await lockJob(tx, jobId);
      const a = await lockAssignment(tx, id);
      if (!a) throw notFound("assignment", id);
      if (a.providerId !== who.accountId) throw forbidden("this assignment belongs to another provider's node");
      const done = await work(tx, a, freed);
      return { result: done.result, deltas: await recordBookChanges(tx, done.changes ?? []), requeue: done.requeue ?? false };
    });
    this.after(deltas, requeue ? [jobId] : [], freed);
    return result;
  }

  /** After a commit: book deltas announced, jobs that lost a replica queued again, offers with new room matched against resting bids. */
  private after(deltas: readonly BookDelta[], requeue: string[], freed: readonly string[]): void {
    this.onBookChange(deltas);
    if (requeue.length > 0) this.matches.jobsSubmitted(requeue).catch((err) => this.onError(err, "re-queue a job for matching"));
    for (const offerId of new Set(freed)) this.matches.offerChanged(offerId).catch((err) => this.onError(err, "queue resting-bid matching"));
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.settings.leaseMs);
  }
}
