import { createHash } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { formatDecimal, holdWei } from "../../pricing";
import { marketsForRequirements, recordBookChanges, type BookDelta, type LevelChange } from "../db/repositories/book.repository";
import { escrowBalance, holdEscrow, releaseHold } from "../db/repositories/escrow.repository";
import {
  assignmentsOfJobs,
  insertJob,
  insertJobWithHold,
  jobById,
  jobByIdempotencyKey,
  jobsByIds,
  jobsOfClient,
  moveJob,
  type AssignmentRecord,
  type JobRecord,
  type JobStatusValue,
  type NewJob,
  type TimeInForceValue,
} from "../db/repositories/job.repository";
import { isUniqueViolation } from "../db/db-errors";
import { assertJobLimit, CLIENT_ORDER_ID, DEFAULT_ORDER_LIMITS, type OrderLimits } from "./order-limits";
import { ServiceError, badInput, conflict, forbidden, notFound } from "./errors";
import { decodeOrdinalCursor, ordinalCursor, pageSize } from "./paging";
import { assertId, requirePrincipal, type Principal } from "./principal";
import type { ModelCatalog } from "./model-catalog";
import { NO_EVENTS, type EventStreams } from "./events";
import { SourceService } from "./source.service";
import type { JobKindValue } from "./job-kinds";
import { checkCommand, checkEnv, checkImage, checkKind, hasControlCharacters } from "./workload";
import { assignmentsOfJob, chargeAssignment, endAssignment, JOB_PROGRESS_TOPIC, recordJobEvent, type JobProgressEvent } from "../db/repositories/lifecycle.repository";
import { checkRequirements, knownModelsFor, type RequirementsData } from "./requirements";
import { inTransaction } from "../db/transaction";
import { FINAL_JOB_STATES, jobStatesInto } from "../db/repositories/states";
import type { BookChangeListener } from "./book-changes";
import type { ArtifactService } from "./artifact.service";
import { insertJobInputs } from "../db/repositories/artifact.repository";
import { systemClock, type Clock } from "./clock";
import type { SignedOrderData } from "./job-order";
import { insertJobOrder, type JobOrderRow } from "../db/repositories/order.repository";
import { isRelayJobOf } from "../db/repositories/job-read.repository";

/** A submission as `JobService.validate` checked and normalized it. */
export type ValidatedJob = Awaited<ReturnType<JobService["validate"]>>;

export interface SubmitJobData {
  kind: JobKindValue;
  sourceId?: string | null;
  image?: string | null;
  command?: readonly string[] | null;
  env?: readonly { name: string; value: string; secret?: boolean | null }[] | null;
  inputUri?: string | null;
  /** Input files the client uploaded, each placed at GX_INPUT_DIR/<path>. */
  inputs?: readonly { artifactId: string; path: string }[] | null;
  requirements: RequirementsData;
  checkpointIntervalSeconds?: number | null;
  idempotencyKey?: string | null;
  /** The client's own id for the job, unique among its live jobs (1 to 64 printable characters). */
  clientOrderId?: string | null;
  /** GTC (the default) rests until matched; IOC is cancelled when it cannot be placed at once. */
  timeInForce?: TimeInForceValue | null;
  /** The client's signed order for this job (prepareJobOrder, then the wallet's signature): settlement is bound by it. */
  order?: SignedOrderData | null;
}

/** Where the service asks for matching; the worker's queue implements it. Failures are logged, never lost: the reconciler re-enqueues. */
export interface MatchRequests {
  jobsSubmitted(jobIds: readonly string[]): Promise<void>;
  offerChanged(offerId: string): Promise<void>;
}

/** The states a job may be cancelled from, as the transition table says. */
const CANCELLABLE: readonly JobStatusValue[] = jobStatesInto("CANCELLED");

export const MAX_CHECKPOINT_INTERVAL_SECONDS = 86400;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

export interface JobPage {
  jobs: JobRecord[];
  cursors: string[];
  hasNextPage: boolean;
}

/** Jobs from the client's side: submit (hold escrow), cancel (release), read, list. */
export class JobService {
  constructor(
    private readonly db: DataSource,
    private readonly matches: MatchRequests,
    private readonly onBookChange: BookChangeListener,
    private readonly onError: (err: unknown, what: string) => void,
    private readonly models: ModelCatalog,
    private readonly events: EventStreams = NO_EVENTS,
    private readonly sources: SourceService = new SourceService(db),
    private readonly artifacts?: Pick<ArtifactService, "checkJobInputs" | "confirmInputs">,
    private readonly limits: OrderLimits = DEFAULT_ORDER_LIMITS,
    private readonly clock: Clock = systemClock,
    /** Checks submitJob's signed orders, and on a windowed escrow covers unsigned jobs by the client's allowance; absent: an order is BAD_USER_INPUT. */
    private readonly orders?: { check(who: Principal, checked: ValidatedJob, signed: SignedOrderData): Promise<JobOrderRow>; unsignedNeedsAllowance(): Promise<boolean>; coverUnsigned(tx: EntityManager, who: Principal, checked: ValidatedJob): Promise<void> },
  ) {}

  /**
   * Progress and status of a job of the caller's: its current state first, then each change as it happens; the
   * stream completes after the job's final state (at once for a job that has already ended).
   */
  async progressStream(principal: Principal | undefined, jobId: string): Promise<AsyncIterableIterator<JobProgressEvent>> {
    await this.get(principal, jobId);
    // listening before the current state is read: a change in between is sent (maybe twice), never lost
    const live = this.events.listen<JobProgressEvent>(JOB_PROGRESS_TOPIC, jobId);
    const now = await jobById(this.db, jobId).catch(async (err) => {
      await live.return?.();
      throw err;
    });
    async function* stream(): AsyncGenerator<JobProgressEvent> {
      try {
        if (!now) return;
        yield { jobId, status: now.status, progress: now.progress, message: now.statusMessage, assignmentId: null, at: now.updatedAt.toISOString() };
        if (FINAL_JOB_STATES.includes(now.status)) return;
        for await (const event of live) {
          yield event;
          if (FINAL_JOB_STATES.includes(event.status)) return;
        }
      } finally {
        await live.return?.();
      }
    }
    return stream();
  }

  /**
   * Validates, holds maxPrice x GPUs x maxDuration / 3600 x redundancy of the client's available escrow and
   * stores the job PENDING, then asks for matching. The same idempotency key with the same input returns the
   * first job (even when sent concurrently); with another input it is CONFLICT. Nothing is stored on an error.
   */
  async submit(principal: Principal | undefined, input: SubmitJobData): Promise<JobRecord> {
    const { job, created } = await this.submitIn(undefined, principal, input);
    if (created) this.queueMatching(job.id);
    return job;
  }

  /** Queues a job stored by `submitIn` once its transaction committed, without waiting (a failure, such as Redis down, is left to the reconciler). */
  queueMatching(jobId: string): void {
    this.matches.jobsSubmitted([jobId]).catch((err) => this.onError(err, "enqueue matching"));
  }

  /**
   * Validates and stores a job with its escrow hold, inside the caller's transaction when `tx` is given (the
   * caller then queues it with `queueMatching` after commit), else in its own. A caller that already ran
   * `validate(input)` passes its result, so the input is not checked twice.
   */
  async submitIn(
    tx: EntityManager | undefined,
    principal: Principal | undefined,
    input: SubmitJobData,
    validated?: ValidatedJob,
    /** The account a relay job is ordered by (its pending-job limit applies); the principal's otherwise. */
    orderedBy?: string,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const who = requirePrincipal(principal);
    const checked = validated ?? (await this.validate(input));
    const holdAmount = holdWei(checked.req.maxPriceWei!, checked.req.gpuCount, checked.req.maxDurationSeconds, checked.req.redundancy);
    const order = input.order ? await this.checkOrder(who, checked, input.order) : undefined;
    const byAllowance = !order && this.orders !== undefined && (await this.orders.unsignedNeedsAllowance());
    const record: NewJob = {
      id: order?.jobId ?? null,
      clientId: who.accountId,
      kind: input.kind,
      image: checked.image,
      command: checked.command,
      env: checked.env,
      inputUri: checked.inputUri,
      sourceId: checked.sourceId,
      gpuCount: checked.req.gpuCount,
      minVramGb: checked.req.minVramGb,
      gpuModels: checked.req.gpuModels ? [...checked.req.gpuModels] : null,
      region: checked.req.region,
      maxLatencyMs: checked.req.maxLatencyMs,
      minReputation: checked.req.minReputation,
      maxPriceWei: checked.req.maxPriceWei!,
      maxDurationSeconds: checked.req.maxDurationSeconds,
      redundancy: checked.req.redundancy,
      strategy: checked.req.strategy,
      weights: checked.req.weights,
      checkpointIntervalSeconds: checked.checkpointIntervalSeconds,
      idempotencyKey: checked.idempotencyKey,
      clientOrderId: checked.clientOrderId,
      timeInForce: checked.timeInForce,
      requestHash: checked.requestHash,
      holdWei: holdAmount,
    };
    const insufficient = async (db: Pick<EntityManager, "query">) => {
      const balance = await escrowBalance(db, who.accountId);
      return new ServiceError(
        "INSUFFICIENT_FUNDS",
        `this job holds up to ${formatDecimal(holdAmount)} OGPU (maxPricePerGpuHour x gpuCount x maxDurationSeconds / 3600 x redundancy) ` +
          `and your available escrow is ${formatDecimal(balance.availableWei)} OGPU; deposit more or lower the cap, GPUs, duration or redundancy`,
      );
    };
    let job: JobRecord;
    let created = true;
    const within = <T>(work: (m: EntityManager) => Promise<T>) => (tx ? work(tx) : this.db.transaction(work));
    const inputs = checked.inputs;
    // bytes PUT straight to the store are counted before the transaction, which then finds them stored
    if (inputs.length > 0 && this.artifacts) await this.artifacts.confirmInputs(who, inputs);
    const addInputs = async (m: EntityManager, jobId: string) => {
      if (inputs.length === 0) return;
      if (!this.artifacts) throw badInput("this server takes no input files");
      await insertJobInputs(m, jobId, await this.artifacts.checkJobInputs(m, who, inputs));
    };
    const limitAccount = orderedBy ?? who.accountId;
    /** With the new job inserted in the transaction: the pending-job limit counts it too. */
    const admit = async (m: EntityManager, inserted: JobRecord) => {
      await assertJobLimit(m, this.limits, limitAccount, orderedBy !== undefined);
      await addInputs(m, inserted.id);
      if (order) await insertJobOrder(m, order);
      if (byAllowance) await this.orders!.coverUnsigned(m, who, checked);
      return inserted;
    };
    try {
      if (record.idempotencyKey === null && inputs.length === 0 && !tx && !order && !byAllowance) {
        // the hot path, one statement: the hold, the pending-job limit and the insert together
        const inserted = await insertJobWithHold(this.db, record, this.limits.maxPendingJobsPerAccount);
        if (inserted) return { job: inserted, created: true };
        await assertJobLimit(this.db, this.limits, limitAccount, false, true);
        throw await insufficient(this.db);
      }
      ({ job, created } = await within(async (m) => {
        if (record.idempotencyKey === null) {
          const inserted = await insertJobWithHold(m, record);
          if (!inserted) throw await insufficient(m);
          return { job: await admit(m, inserted), created: true };
        }
        const inserted = await insertJob(m, record);
        if (!inserted) {
          const existing = await jobByIdempotencyKey(m, who.accountId, record.idempotencyKey);
          if (!existing) throw new Error("idempotency conflict without a stored job");
          if (existing.requestHash !== record.requestHash) {
            throw conflict(`idempotencyKey "${record.idempotencyKey}" was used for another job ${existing.id} with different input; use a new key`);
          }
          return { job: existing, created: false };
        }
        if (!(await holdEscrow(m, who.accountId, holdAmount))) throw await insufficient(m);
        return { job: await admit(m, inserted), created: true };
      }));
    } catch (err) {
      if (isUniqueViolation(err, "jobs_client_order_idx")) throw conflict(`clientOrderId "${record.clientOrderId}" is already used by a live job of yours; use another or wait for that job to end`);
      if (isUniqueViolation(err, "jobs_pkey")) throw conflict(`order.jobId ${record.id} is already a job; prepare a new order for another job`);
      if (isUniqueViolation(err, "job_orders_nonce_key")) throw conflict(`order.nonce ${order?.nonce} is already used by another job of yours; prepare a new order`);
      throw err;
    }
    return { job, created };
  }

  private checkOrder(who: Principal, checked: ValidatedJob, signed: SignedOrderData) {
    if (!this.orders) throw badInput("this server takes no signed orders: leave order out");
    return this.orders.check(who, checked, signed);
  }

  /**
   * Cancels a job of the caller's that has not ended: its live assignments stop (their GPUs go back to the
   * offers), work already done is charged at the trade price for its run time, and the rest of the hold is
   * released. Cancelling a cancelled job returns it; an ended one is CONFLICT.
   */
  async cancel(principal: Principal | undefined, id: string, now = this.clock.now()): Promise<JobRecord> {
    const who = requirePrincipal(principal);
    assertId("job", id);
    const freed: string[] = [];
    const { job, deltas } = await inTransaction(this.db, async (tx) => {
      freed.length = 0;
      const current = await jobById(tx, id, true);
      if (!current) throw notFound("job", id);
      if (current.clientId !== who.accountId) throw forbidden("this job belongs to another account");
      if (current.status === "CANCELLED") return { job: current, deltas: [] as BookDelta[] };
      if (!CANCELLABLE.includes(current.status)) throw conflict(`this job is ${current.status}; it has ended and cannot be cancelled`);
      const changes: LevelChange[] = [];
      if (current.status === "PENDING" && current.resting) {
        for (const market of await marketsForRequirements(tx, current.minVramGb, current.gpuModels)) changes.push({ market, side: "BID", priceWei: current.maxPriceWei });
      }
      let spent = 0n;
      for (const a of await assignmentsOfJob(tx, id)) {
        if (a.status === "ASSIGNED" || a.status === "RUNNING") {
          const ended = await endAssignment(tx, a, "CANCELLED", { reason: "cancelled by the client" }, now, freed);
          if (!ended) continue;
          if (ended.change) changes.push(ended.change);
          if (a.status === "RUNNING") spent += await chargeAssignment(tx, current, a, now);
        } else if (a.status === "COMPLETED") {
          spent += await chargeAssignment(tx, current, a, a.endedAt ?? now);
        }
      }
      if (!(await moveJob(tx, id, [current.status], "CANCELLED", { resting: false, costWei: spent, statusMessage: "cancelled by the client", endedAt: now }))) {
        throw conflict(`this job changed while it was being cancelled; it is no longer ${current.status}`);
      }
      await releaseHold(tx, current.clientId, current.holdWei, spent);
      await recordJobEvent(tx, { jobId: id, status: "CANCELLED", progress: current.progress, message: "cancelled by the client", assignmentId: null }, now);
      const deltas = await recordBookChanges(tx, changes);
      return { job: (await jobById(tx, id))!, deltas };
    });
    this.onBookChange(deltas);
    for (const offerId of new Set(freed)) this.matches.offerChanged(offerId).catch((err) => this.onError(err, "queue resting-bid matching"));
    return job;
  }

  /** Ends PENDING jobs (JobOrderService.dueToExpire) as EXPIRED, hold released, bids off the book; how many. */
  async expire(ids: readonly string[], reason: string, now = this.clock.now()): Promise<number> {
    let expired = 0;
    for (const id of ids) {
      const deltas = await inTransaction(this.db, async (tx) => {
        const current = await jobById(tx, id, true);
        if (!current || current.status !== "PENDING") return [];
        if ((await assignmentsOfJob(tx, id)).some((a) => a.status === "ASSIGNED" || a.status === "RUNNING" || a.status === "COMPLETED")) return [];
        const changes: LevelChange[] = [];
        if (current.resting) {
          for (const market of await marketsForRequirements(tx, current.minVramGb, current.gpuModels)) changes.push({ market, side: "BID", priceWei: current.maxPriceWei });
        }
        if (!(await moveJob(tx, id, ["PENDING"], "EXPIRED", { resting: false, costWei: 0n, statusMessage: reason, endedAt: now }))) return [];
        await releaseHold(tx, current.clientId, current.holdWei, 0n);
        await recordJobEvent(tx, { jobId: id, status: "EXPIRED", progress: current.progress, message: reason, assignmentId: null }, now);
        expired++;
        return recordBookChanges(tx, changes);
      });
      this.onBookChange(deltas);
    }
    return expired;
  }

  /**
   * A job of the caller's (FORBIDDEN for other accounts): one it submitted, or one it ordered through the relay (whose
   * client on the book is the relay's treasury), to read and follow; acting on a relay job goes through the relay.
   */
  async get(principal: Principal | undefined, id: string): Promise<JobRecord> {
    const who = requirePrincipal(principal);
    assertId("job", id);
    const job = await jobById(this.db, id);
    if (!job) throw notFound("job", id);
    if (job.clientId !== who.accountId) {
      if (!(await isRelayJobOf(this.db, id, who.accountId))) throw forbidden("this job belongs to another account");
    }
    return job;
  }

  async byIds(ids: readonly string[]): Promise<JobRecord[]> {
    return jobsByIds(this.db, ids);
  }

  async assignments(jobIds: readonly string[]): Promise<AssignmentRecord[]> {
    return assignmentsOfJobs(this.db, jobIds);
  }

  /** The caller's jobs, newest first, optionally of one status. */
  async mine(principal: Principal | undefined, status: JobStatusValue | undefined, first: number | undefined | null, after: string | undefined | null): Promise<JobPage> {
    const who = requirePrincipal(principal);
    const size = pageSize(first);
    const before = after === undefined || after === null ? undefined : decodeOrdinalCursor("j", after);
    const rows = await jobsOfClient(this.db, who.accountId, status, size, before);
    const jobs = rows.slice(0, size);
    return { jobs, cursors: jobs.map((j) => ordinalCursor("j", j.ordinal)), hasNextPage: rows.length > size };
  }

  /** Checks a submission as submitJob would, storing nothing: BAD_USER_INPUT (or NOT_FOUND for a source) naming the field. */
  async validate(input: SubmitJobData) {
    checkKind(input.kind);
    const source = input.sourceId ? await this.sources.byId(input.sourceId) : null;
    const image = checkImage(input.image) ?? source?.image ?? null;
    const command = checkCommand(input.command) ?? source?.command ?? null;
    if (image === null && command === null) throw badInput("a job needs an image, a command, or both");
    const given = input.env ?? [];
    const env = checkEnv([...(source?.env ?? []).filter((e) => !given.some((g) => g.name === e.name)), ...given]);
    const inputUri = input.inputUri?.trim() || null;
    if (inputUri !== null && (inputUri.length > 2048 || !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(inputUri) || hasControlCharacters(inputUri))) throw badInput("inputUri must be a URI such as https://... or s3://..., at most 2048 characters");
    const interval = input.checkpointIntervalSeconds ?? null;
    if (interval !== null && (!Number.isInteger(interval) || interval < 1 || interval > MAX_CHECKPOINT_INTERVAL_SECONDS)) {
      throw badInput(`checkpointIntervalSeconds must be from 1 to ${MAX_CHECKPOINT_INTERVAL_SECONDS}`);
    }
    const idempotencyKey = input.idempotencyKey ?? null;
    if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey)) throw badInput("idempotencyKey must be 1 to 128 printable characters without spaces");
    const clientOrderId = input.clientOrderId ?? null;
    if (clientOrderId !== null && !CLIENT_ORDER_ID.test(clientOrderId)) throw badInput("clientOrderId must be 1 to 64 printable characters without spaces");
    const timeInForce: TimeInForceValue = input.timeInForce ?? "GTC";
    if (timeInForce !== "GTC" && timeInForce !== "IOC") throw badInput(`timeInForce must be GTC or IOC, got ${String(timeInForce).slice(0, 16)}`);
    const req = checkRequirements(input.requirements, await knownModelsFor(this.models, input.requirements), true);
    const inputs = (input.inputs ?? []).map((i) => ({ artifactId: String(i.artifactId), path: String(i.path) }));
    const canonical = JSON.stringify({
      ...(inputs.length > 0 ? { inputs } : {}),
      kind: input.kind,
      image,
      command,
      env,
      inputUri,
      checkpointIntervalSeconds: interval,
      requirements: { ...req, maxPriceWei: req.maxPriceWei?.toString() ?? null },
      sourceId: source?.id ?? null,
      ...(clientOrderId !== null ? { clientOrderId } : {}),
      ...(timeInForce !== "GTC" ? { timeInForce } : {}),
    });
    const requestHash = createHash("sha256").update(canonical).digest("hex");
    return { image, command, env, inputUri, inputs, checkpointIntervalSeconds: interval, idempotencyKey, clientOrderId, timeInForce, req, requestHash, sourceId: source?.id ?? null };
  }
}
