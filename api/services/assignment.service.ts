import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { recordBookChanges, type BookDelta, type LevelChange } from "../db/repositories/book.repository";
import { assignmentsByIds, jobById, toAssignmentRecord, type AssignmentRecord, type JobRecord, type JobStatusValue } from "../db/repositories/job.repository";
import {
  ASSIGNMENT_OFFERED_TOPIC,
  assignmentsOfJob,
  chargeAssignment,
  checkpointById,
  checkpointData,
  checkpointsOfJobs,
  countOutcome,
  endAssignment,
  JOB_PROGRESS_TOPIC,
  lapsedAssignments,
  latestCheckpoint,
  lockAssignment,
  recordEvents,
  reserveCheckpoint,
  storeCheckpoint,
  type AssignmentOfferedEvent,
  type CheckpointRecord,
  type LiveAssignment,
} from "../db/repositories/lifecycle.repository";
import { NO_EVENTS, type EventStreams } from "./events";
import { updateReturning } from "../db/query";
import { settleHold } from "../db/repositories/escrow.repository";
import { badInput, conflict, forbidden, notFound } from "./errors";
import type { MatchRequests } from "./job.service";
import type { BookChangeListener } from "./offer.service";
import { assertId, requirePrincipal, type Principal } from "./principal";

export type { AssignmentOfferedEvent, JobProgressEvent } from "../db/repositories/lifecycle.repository";

/** The slashing rule: a provider with this many REJECTED results within the window... */
export const SLASH_AFTER_REJECTIONS = 3;
export const SLASH_WINDOW_DAYS = 30;
/** ...loses this share of its stake (basis points; the contract caps a slash at 10%) for each further rejection. */
export const SLASH_BPS = 500;

/**
 * Records a slash when a provider's result lost the vote for the SLASH_AFTER_REJECTIONS-th time (or more) within
 * SLASH_WINDOW_DAYS: SLASH_BPS of its mirrored stake (staked + unbonding), once per (provider, job). The slasher
 * sends it to Staking.slash; nothing is recorded for a provider without stake.
 */
async function decideSlash(tx: EntityManager, providerId: string, jobId: string, now: Date): Promise<void> {
  const [{ n }] = await tx.query(
    `SELECT count(*)::int AS n FROM assignments WHERE provider_id = $1 AND status = 'REJECTED' AND coalesce(ended_at, created_at) > $2`,
    [providerId, new Date(now.getTime() - SLASH_WINDOW_DAYS * 86_400_000)],
  );
  if (n < SLASH_AFTER_REJECTIONS) return;
  const [stake] = await tx.query(`SELECT staked_wei + unbonding_wei AS total FROM stakes WHERE account_id = $1`, [providerId]);
  const amount = stake ? (BigInt(stake.total) * BigInt(SLASH_BPS)) / 10_000n : 0n;
  if (amount <= 0n) return;
  await tx.query(
    `INSERT INTO slashes (provider_id, job_id, amount_wei, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (provider_id, job_id) DO NOTHING`,
    [providerId, jobId, amount.toString(), `0x${createHash("sha256").update(`lost validation:${jobId}`).digest("hex")}`],
  );
}

export interface LifecycleSettings {
  /** A new assignment's time to start, and a running one's time between renewals (progress, heartbeats). */
  leaseMs: number;
  /** Attempts per replica before the job fails. */
  maxAttempts: number;
  checkpointMaxBytes: number;
  /** Lifetime of checkpoint upload and download URLs. */
  transferUrlTtlSeconds: number;
  publicUrl: string;
  /** Signs transfer URLs. */
  secret: string;
}

export interface ResumePoint {
  checkpoint: CheckpointRecord;
  downloadUrl: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_STEP = 1_000_000_000;
const TERMINAL: readonly JobStatusValue[] = ["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"];

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
    private readonly events: EventStreams = NO_EVENTS,
  ) {}

  /** New assignments of a node of the caller's, as they are made. */
  async offeredStream(principal: Principal | undefined, nodeId: string): Promise<AsyncIterableIterator<AssignmentOfferedEvent>> {
    await this.ownNode(requirePrincipal(principal), nodeId);
    return this.events.listen<AssignmentOfferedEvent>(ASSIGNMENT_OFFERED_TOPIC, nodeId);
  }

  private async ownNode(who: Principal, nodeId: string): Promise<void> {
    assertId("node", nodeId);
    const [node] = await this.db.query(`SELECT provider_id FROM nodes WHERE id = $1`, [nodeId]);
    if (!node) throw notFound("node", nodeId);
    if (node.provider_id !== who.accountId) throw forbidden("this node belongs to another provider");
  }

  /** A node's assignments (the caller's node), oldest first; optionally of one status. */
  async forNode(principal: Principal | undefined, nodeId: string, status: string | undefined): Promise<AssignmentRecord[]> {
    await this.ownNode(requirePrincipal(principal), nodeId);
    const rows = await this.db.query(
      `SELECT * FROM assignments WHERE node_id = $1 AND ($2::varchar IS NULL OR status = $2) ORDER BY created_at, replica LIMIT 100`,
      [nodeId, status ?? null],
    );
    return rows.map(toAssignmentRecord);
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
    return { checkpoint, downloadUrl: this.transferUrl("get", checkpoint.id) };
  }

  /** ASSIGNED -> RUNNING; the lease starts over. Starting a RUNNING assignment again returns it. */
  async start(principal: Principal | undefined, id: string, now = new Date()): Promise<LiveAssignment> {
    return this.act(principal, id, async (tx, a) => {
      if (a.status === "RUNNING") return { result: a };
      if (a.status !== "ASSIGNED") throw conflict(`this assignment is ${a.status}; it cannot start`);
      const lease = this.leaseFrom(now);
      await tx.query(`UPDATE assignments SET status = 'RUNNING', started_at = $2, lease_expires_at = $3 WHERE id = $1`, [id, now, lease]);
      const [job] = await updateReturning<{ progress: number }>(
        tx,
        `UPDATE jobs SET status = CASE WHEN status = 'MATCHED' THEN 'RUNNING' ELSE status END, updated_at = now() WHERE id = $1 RETURNING progress`,
        [a.jobId],
      );
      await this.jobEvent(tx, a.jobId, job.progress, "started", a.id, now);
      return { result: { ...a, status: "RUNNING" as const, startedAt: now, leaseExpiresAt: lease } };
    });
  }

  /** Progress in [0, 1] with an optional message; renews the lease. CONFLICT once the assignment is not RUNNING. */
  async progress(principal: Principal | undefined, id: string, progress: number, message: string | null | undefined, now = new Date()): Promise<LiveAssignment> {
    if (!Number.isFinite(progress) || progress < 0 || progress > 1) throw badInput(`progress must be from 0 to 1, got ${progress}`);
    if (message && message.length > 500) throw badInput("message may be at most 500 characters");
    return this.act(principal, id, async (tx, a) => {
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; start it first, or stop: it was taken over`);
      const lease = this.leaseFrom(now);
      await tx.query(`UPDATE assignments SET progress = $2, progress_message = $3, lease_expires_at = $4 WHERE id = $1`, [id, progress, message ?? null, lease]);
      const [job] = await updateReturning<{ progress: number }>(
        tx,
        `UPDATE jobs SET progress = (SELECT min(CASE WHEN status = 'COMPLETED' THEN 1 ELSE progress END) FROM assignments
                                       WHERE job_id = $1 AND status IN ('ASSIGNED', 'RUNNING', 'COMPLETED')),
                         status_message = $2, updated_at = now()
          WHERE id = $1 RETURNING progress`,
        [a.jobId, message ?? null],
      );
      await this.jobEvent(tx, a.jobId, job.progress, message ?? null, a.id, now);
      return { result: { ...a, leaseExpiresAt: lease } };
    });
  }

  /** Reserves a checkpoint of a RUNNING assignment and returns where to PUT its bytes. */
  async createCheckpointUpload(principal: Principal | undefined, id: string, step: number, sha256: string, sizeBytes: bigint): Promise<{ checkpoint: CheckpointRecord; uploadUrl: string }> {
    if (!Number.isInteger(step) || step < 0 || step > MAX_STEP) throw badInput(`step must be a whole number from 0 to ${MAX_STEP}`);
    const hash = sha256.toLowerCase();
    if (!HEX64.test(hash)) throw badInput("sha256 must be 64 hexadecimal characters");
    if (sizeBytes < 0n) throw badInput("sizeBytes must be 0 or more");
    if (sizeBytes > BigInt(this.settings.checkpointMaxBytes)) throw badInput(`a checkpoint may be at most ${this.settings.checkpointMaxBytes} bytes; this one declares ${sizeBytes}`);
    return this.act(principal, id, async (tx, a) => {
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; checkpoints come from running work`);
      const checkpoint = await reserveCheckpoint(tx, a, step, hash, sizeBytes);
      if (!checkpoint) throw conflict(`step ${step} of this assignment is already stored`);
      return { result: { checkpoint, uploadUrl: this.transferUrl("put", checkpoint.id) } };
    });
  }

  /** The PUT of a checkpoint's bytes: stored only when the URL is valid and the bytes have the declared size and sha256. */
  async storeCheckpointBytes(id: string, expires: string | undefined, signature: string | undefined, data: Buffer): Promise<CheckpointRecord> {
    this.verifyTransfer("put", id, expires, signature);
    const checkpoint = await checkpointById(this.db, id);
    if (!checkpoint) throw notFound("checkpoint", id);
    if (checkpoint.storedAt) throw conflict("this checkpoint is already stored");
    if (BigInt(data.length) !== checkpoint.sizeBytes) throw badInput(`the body is ${data.length} bytes; the checkpoint declared ${checkpoint.sizeBytes}`);
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== checkpoint.sha256) throw badInput(`the body's sha256 is ${actual}; the checkpoint declared ${checkpoint.sha256}`);
    if (!(await storeCheckpoint(this.db, id, data))) throw conflict("this checkpoint is already stored");
    return { ...checkpoint, storedAt: new Date() };
  }

  /** The bytes of a stored checkpoint, for a signed download URL. */
  async checkpointBytes(id: string, expires: string | undefined, signature: string | undefined): Promise<Buffer> {
    this.verifyTransfer("get", id, expires, signature);
    const data = await checkpointData(this.db, id);
    if (!data) throw notFound("checkpoint", id);
    return data;
  }

  /** Completes a RUNNING assignment with its result hash; the same hash again changes nothing, another is CONFLICT. */
  async complete(principal: Principal | undefined, id: string, resultHash: string, resultUri: string | null | undefined, now = new Date()): Promise<LiveAssignment> {
    const hash = resultHash.toLowerCase();
    if (!HEX64.test(hash)) throw badInput("resultHash must be the sha256 of the result: 64 hexadecimal characters");
    if (resultUri && (resultUri.length > 2048 || !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(resultUri))) throw badInput("resultUri must be a URI of at most 2048 characters");
    return this.act(principal, id, async (tx, a, freed) => {
      if (a.status === "COMPLETED" || a.status === "REJECTED") {
        if (a.resultHash === hash) return { result: a };
        throw conflict("this assignment was already completed with another result");
      }
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; only running work completes`);
      const change = await endAssignment(tx, a, "COMPLETED", { resultHash: hash, resultUri: resultUri ?? null }, now, freed);
      await tx.query(`UPDATE assignments SET progress = 1 WHERE id = $1`, [id]);
      const concluded = await this.conclude(tx, a.jobId, now, freed);
      return { result: { ...a, status: "COMPLETED" as const, resultHash: hash }, changes: [...(change ? [change] : []), ...concluded.changes], requeue: concluded.requeue };
    });
  }

  /** Fails an assignment of the caller's (the agent gave up); the job goes back to matching or fails. */
  async fail(principal: Principal | undefined, id: string, reason: string, now = new Date()): Promise<LiveAssignment> {
    const why = reason.trim().slice(0, 500);
    if (!why) throw badInput("say why it failed (reason)");
    return this.act(principal, id, async (tx, a, freed) => {
      if (a.status === "FAILED") return { result: a };
      if (a.status !== "ASSIGNED" && a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; it cannot fail now`);
      const change = await endAssignment(tx, a, "FAILED", { reason: why }, now, freed);
      await countOutcome(tx, a.providerId, "failed_jobs");
      const concluded = await this.conclude(tx, a.jobId, now, freed);
      return { result: { ...a, status: "FAILED" as const }, changes: [...(change ? [change] : []), ...concluded.changes], requeue: concluded.requeue };
    });
  }

  /** Expires live assignments whose lease lapsed (agent gone): the job is taken over elsewhere. Returns how many. */
  async expireLapsed(now = new Date(), limit = 200): Promise<number> {
    let expired = 0;
    for (const { id } of await lapsedAssignments(this.db, now, limit)) {
      const freed: string[] = [];
      const outcome = await this.db.transaction(async (tx) => {
        freed.length = 0;
        const a = await lockAssignment(tx, id);
        if (!a || (a.status !== "ASSIGNED" && a.status !== "RUNNING") || !a.leaseExpiresAt || a.leaseExpiresAt >= now) return undefined;
        const change = await endAssignment(tx, a, "EXPIRED", { reason: "lease lapsed: no progress or heartbeat in time" }, now, freed);
        await countOutcome(tx, a.providerId, "expired_jobs");
        const concluded = await this.conclude(tx, a.jobId, now, freed);
        const deltas = await recordBookChanges(tx, [...(change ? [change] : []), ...concluded.changes]);
        return { deltas, requeue: concluded.requeue, jobId: a.jobId };
      });
      if (!outcome) continue;
      expired++;
      this.after(outcome.deltas, outcome.requeue ? [outcome.jobId] : [], freed);
    }
    return expired;
  }

  /** Runs a change of one assignment of the caller's in a transaction (row locked), then publishes and requeues. */
  private async act<T>(
    principal: Principal | undefined,
    id: string,
    work: (tx: EntityManager, a: LiveAssignment, freed: string[]) => Promise<{ result: T; changes?: LevelChange[]; requeue?: boolean }>,
  ): Promise<T> {
    const who = requirePrincipal(principal);
    assertId("assignment", id);
    const freed: string[] = [];
    const { result, deltas, requeue, jobId } = await this.db.transaction(async (tx) => {
      freed.length = 0;
      const a = await lockAssignment(tx, id);
      if (!a) throw notFound("assignment", id);
      if (a.providerId !== who.accountId) throw forbidden("this assignment belongs to another provider's node");
      const done = await work(tx, a, freed);
      return { result: done.result, deltas: await recordBookChanges(tx, done.changes ?? []), requeue: done.requeue ?? false, jobId: a.jobId };
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

  /**
   * Decides what a job's assignments add up to, in the caller's transaction (job row locked): once no replica is
   * still working, a majority of result hashes (more than half the replicas) completes it, and the results that
   * disagree are REJECTED (every replica is judged, so the job waits for all, in VALIDATING); all replicas done
   * without a majority fails it; a replica without live work goes back to matching, or fails the job once it
   * used its attempts.
   */
  private async conclude(tx: EntityManager, jobId: string, now: Date, freed: string[]): Promise<{ changes: LevelChange[]; requeue: boolean }> {
    const job = await jobById(tx, jobId, true);
    if (!job || TERMINAL.includes(job.status)) return { changes: [], requeue: false };
    const all = await assignmentsOfJob(tx, jobId);
    const completed = all.filter((a) => a.status === "COMPLETED");
    const live = all.filter((a) => a.status === "ASSIGNED" || a.status === "RUNNING");
    const votes = new Map<string, LiveAssignment[]>();
    for (const a of completed) votes.set(a.resultHash!, [...(votes.get(a.resultHash!) ?? []), a]);
    const winner = [...votes.entries()].find(([, voters]) => voters.length > job.redundancy / 2);
    const changes: LevelChange[] = [];
    const endLive = async (status: "CANCELLED") => {
      for (const a of live) {
        const change = await endAssignment(tx, a, status, { reason: "the job ended" }, now, freed);
        if (change) changes.push(change);
      }
    };
    if (winner && live.length === 0) {
      const [hash, winners] = winner;
      let total = 0n;
      for (const a of completed) {
        if (a.resultHash !== hash) {
          await tx.query(`UPDATE assignments SET status = 'REJECTED' WHERE id = $1`, [a.id]);
          await countOutcome(tx, a.providerId, "rejected_jobs");
          await decideSlash(tx, a.providerId, job.id, now);
        }
      }
      for (const a of winners) {
        const [row] = await tx.query(`SELECT ended_at FROM assignments WHERE id = $1`, [a.id]);
        total += await chargeAssignment(tx, job, a, row.ended_at);
        await countOutcome(tx, a.providerId, "completed_jobs");
      }
      await endLive("CANCELLED");
      await this.settleEscrow(tx, job, total);
      const [uri] = await tx.query(`SELECT result_uri FROM assignments WHERE id = $1`, [winners[0].id]);
      await tx.query(
        `UPDATE jobs SET status = 'COMPLETED', resting = false, progress = 1, result_hash = $2, result_uri = $3, agreed_by = $4, cost_wei = $5,
                status_message = $6, ended_at = $7, updated_at = now() WHERE id = $1`,
        [job.id, hash, uri.result_uri, winners.length, total.toString(), `completed: ${winners.length} of ${job.redundancy} agree`, now],
      );
      await this.jobEvent(tx, job.id, 1, "completed", winners[0].id, now);
      return { changes, requeue: false };
    }
    if (completed.length >= job.redundancy) {
      await this.failJob(tx, job, `no majority: the ${completed.length} results disagree`, now);
      return { changes, requeue: false };
    }
    const holding = new Set([...live, ...completed].map((a) => a.replica));
    const missing = [...Array(job.redundancy).keys()].filter((r) => !holding.has(r));
    const exhausted = missing.find((r) => all.filter((a) => a.replica === r && a.status !== "CANCELLED").length >= this.settings.maxAttempts);
    if (exhausted !== undefined) {
      const last = all.filter((a) => a.replica === exhausted).at(-1)!;
      const [row] = await tx.query(`SELECT fail_reason FROM assignments WHERE id = $1`, [last.id]);
      await endLive("CANCELLED");
      await this.failJob(tx, job, `failed after ${this.settings.maxAttempts} attempts: ${row.fail_reason ?? last.status}`, now);
      return { changes, requeue: false };
    }
    let status: JobStatusValue = job.status;
    if (missing.length > 0) status = "PENDING";
    else if (completed.length > 0) status = "VALIDATING";
    else if (live.some((a) => a.status === "RUNNING")) status = "RUNNING";
    if (status !== job.status) {
      await tx.query(`UPDATE jobs SET status = $2, resting = false, updated_at = now() WHERE id = $1`, [job.id, status]);
      await this.jobEvent(tx, job.id, job.progress, status === "PENDING" ? "taken back: matching again" : status.toLowerCase(), null, now);
    }
    return { changes, requeue: status === "PENDING" };
  }

  private async failJob(tx: EntityManager, job: JobRecord, message: string, now: Date): Promise<void> {
    await this.settleEscrow(tx, job, 0n);
    await tx.query(`UPDATE jobs SET status = 'FAILED', resting = false, status_message = $2, ended_at = $3, updated_at = now() WHERE id = $1`, [job.id, message.slice(0, 500), now]);
    await this.jobEvent(tx, job.id, job.progress, message, null, now, "FAILED");
  }

  /** Releases the job's hold and records what it spent (the charges, settled on chain later). */
  private async settleEscrow(tx: EntityManager, job: JobRecord, spentWei: bigint): Promise<void> {
    await settleHold(tx, job.clientId, job.holdWei, spentWei);
  }

  private async jobEvent(tx: EntityManager, jobId: string, progress: number, message: string | null, assignmentId: string | null, now: Date, status?: JobStatusValue): Promise<void> {
    const current = status ?? ((await tx.query(`SELECT status FROM jobs WHERE id = $1`, [jobId]))[0].status as JobStatusValue);
    await recordEvents(tx, JOB_PROGRESS_TOPIC, [{ jobId, status: current, progress, message, assignmentId, at: now.toISOString() }]);
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.settings.leaseMs);
  }

  private transferUrl(kind: "put" | "get", id: string): string {
    const expires = String(Math.floor(Date.now() / 1000) + this.settings.transferUrlTtlSeconds);
    return `${this.settings.publicUrl}/checkpoints/${id}?expires=${expires}&signature=${this.sign(kind, id, expires)}`;
  }

  private sign(kind: string, id: string, expires: string): string {
    return createHmac("sha256", this.settings.secret).update(`checkpoint:${kind}:${id}:${expires}`).digest("base64url");
  }

  private verifyTransfer(kind: "put" | "get", id: string, expires: string | undefined, signature: string | undefined): void {
    assertId("checkpoint", id);
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) throw forbidden("this transfer URL is not signed; ask for a new one");
    const expected = Buffer.from(this.sign(kind, id, expires));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw forbidden("this transfer URL's signature is wrong; ask for a new one");
    if (Number(expires) * 1000 < Date.now()) throw forbidden("this transfer URL has expired; ask for a new one");
  }
}
