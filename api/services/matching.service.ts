import type { DataSource, EntityManager } from "typeorm";
import { explainShortfall, rankCandidates, type Candidate, type Exclusion } from "../../matching";
import { marketsForRequirements, recordBookChanges, type BookDelta, type LevelChange } from "../db/repositories/book.repository";
import { jobById, jobsByIds, type JobRecord } from "../db/repositories/job.repository";
import { restingBidsServedBy, selfAccountsOf } from "./self-trade";
import { holdBackJob, unbackedAccounts } from "../db/repositories/escrow.repository";
import { assignmentsOfJobIds, JOB_PROGRESS_TOPIC, lastCheckpointSteps, recordEvents } from "../db/repositories/lifecycle.repository";
import { candidateById, claimOffer, loadCandidates, loadOpenOffers, type Claimed } from "../db/repositories/match.repository";
import { lockPendingJobs, markJobsMatched, recordUnfilledAttempt, restJob, rollbackReplicaClaims, savepointReplicaClaims } from "../db/repositories/matching.repository";
import { inTransaction } from "../db/transaction";
import type { BookChangeListener } from "./book-changes";
import { requirementsOf, type CheckedRequirements } from "./requirements";
import { failJob } from "./job-conclusion";
import type { OfferReadModel } from "./offer-read-model";

export interface MatchingSettings {
  heartbeatWindowSeconds: number;
  /** Most candidate offers loaded for one placement (cheapest first). */
  candidateLimit: number;
  /** Most open offers read to explain why a job matches none. */
  explainLimit: number;
  /** How long a new assignment may wait for its agent to start it (and a running one between renewals). */
  leaseMs: number;
  /** Offers of providers staking less are passed over (STAKE); null for no minimum. */
  minStakeWei: bigint | null;
}

export type MatchOutcome =
  | { kind: "matched"; assignments: number }
  | { kind: "resting"; excluded: Exclusion[] }
  /** An immediate-or-cancel job its first placement could not fill: cancelled, hold released. */
  | { kind: "cancelled"; excluded: Exclusion[] }
  | { kind: "skipped"; status: string };

/** The status message of a job held back because its client's escrow no longer covers its holds. */
export const UNBACKED_MESSAGE = "waiting: your escrow on chain no longer covers this job's hold (you asked to withdraw it, or a chain reorg removed a deposit); cancel the withdrawal request (requestWithdraw(0)), deposit again, or cancel the job";


interface Planned {
  job: JobRecord;
  req: CheckedRequirements;
  /** The candidates in rank order (the SQL path); null: chosen one by one from the read model. */
  ranked: Candidate[] | null;
  /** Replica indexes without a live or completed assignment: what this placement must fill. */
  needed: number[];
  /** Providers already running (or done with) a replica: replicas go to distinct providers. */
  busyProviders: Set<string>;
  /** Nodes whose attempt at this job failed or lapsed: not tried again. */
  failedNodes: Set<string>;
}

/**
 * The worker side of matching. Jobs are placed in batches (one transaction for many jobs, highest cap first
 * then oldest): each replica claims capacity with one conditional update on its best candidate offer, from
 * distinct providers, and a lost race tries the next candidate; the assignments, trades and book deltas are
 * written in the same transaction. A batch shares the hot rows' locks and one commit, which is what makes
 * hundreds of placements a second possible. What cannot be placed rests on the bid side with its reasons.
 *
 * Candidates come from the worker's offer read model when one is attached (useReadModel; MATCHING_CANDIDATES=index):
 * each replica takes the best offer the index holds, and a lost claim the next; a job the index cannot place is
 * tried once more on the SQL candidates before it rests, so a model behind the database never rests a job that
 * could match. Without one (MATCHING_CANDIDATES=sql, or a process with no worker role) the SQL candidate query
 * (cheapest `candidateLimit` offers) is ranked in full for each job.
 */
export class MatchingService {
  private model: OfferReadModel | undefined;
  /** Jobs placed on candidates from the read model, and on the SQL candidates (the SQL path, or the index's fallback). */
  readonly placed = { fromIndex: 0, fromSql: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly settings: MatchingSettings,
    private readonly onBookChange: BookChangeListener,
  ) {}

  /** Chooses candidates from this read model from now on (undefined: the SQL candidate query). */
  useReadModel(model: OfferReadModel | undefined): void {
    this.model = model;
  }

  async matchJob(jobId: string, now = new Date()): Promise<MatchOutcome> {
    return (await this.matchJobs([jobId], now)).get(jobId)!;
  }

  /** Places these jobs (those still PENDING and not being placed by another worker), highest cap first then oldest. */
  async matchJobs(jobIds: readonly string[], now = new Date()): Promise<Map<string, MatchOutcome>> {
    const outcomes = new Map<string, MatchOutcome>();
    const pending = (await jobsByIds(this.db, [...new Set(jobIds)])).filter((j) => j.status === "PENDING");
    for (const id of jobIds) outcomes.set(id, { kind: "skipped", status: "NOT_PENDING" });
    // a client that asked to withdraw what its jobs hold, or whose deposit a reorg removed: its jobs wait
    const unbacked = await unbackedAccounts(this.db, pending.map((j) => j.clientId));
    for (const job of pending.filter((j) => unbacked.has(j.clientId))) {
      await holdBackJob(this.db, job.id, UNBACKED_MESSAGE, now);
      outcomes.set(job.id, { kind: "skipped", status: "ESCROW_NOT_BACKED" });
    }
    const jobs = pending.filter((j) => !unbacked.has(j.clientId));
    if (jobs.length === 0) return outcomes;
    jobs.sort(byPriority);
    const onlineSince = this.onlineSince(now);
    const model = this.model;
    const [history, self] = await Promise.all([assignmentsOfJobIds(this.db, jobs.map((j) => j.id)), selfAccountsOf(this.db, jobs), model?.catchUp(now)]);
    const bySignature = new Map<string, Promise<Candidate[]>>();
    const rank = async (plan: Planned): Promise<Planned> => {
      const { req, failedNodes, busyProviders } = plan;
      const key = JSON.stringify([req.gpuCount, req.minVramGb, req.gpuModels, req.maxPriceWei?.toString(), req.maxDurationSeconds]);
      let load = bySignature.get(key);
      if (!load) bySignature.set(key, (load = loadCandidates(this.db, { ...req, onlineSince, now, limit: this.settings.candidateLimit })));
      const usable = (await load).filter((c) => !failedNodes.has(c.nodeId));
      return { ...plan, ranked: rankCandidates(usable, req, busyProviders) };
    };
    const plans: Planned[] = await Promise.all(
      jobs.map(async (job) => {
        const req = { ...requirementsOf(job), minStakeWei: this.settings.minStakeWei, selfAccounts: self.get(job.id) };
        const mine = history.filter((a) => a.jobId === job.id);
        const holding = mine.filter((a) => a.status === "ASSIGNED" || a.status === "RUNNING" || a.status === "COMPLETED");
        const needed = [...Array(job.redundancy).keys()].filter((r) => !holding.some((a) => a.replica === r));
        const busyProviders = new Set(holding.map((a) => a.providerId));
        const failedNodes = new Set(mine.filter((a) => a.status === "FAILED" || a.status === "EXPIRED").map((a) => a.nodeId));
        const plan: Planned = { job, req, ranked: null, needed, busyProviders, failedNodes };
        return model ? plan : rank(plan);
      }),
    );
    let { matched, unplaced } = await this.placeAll(plans, now, model);
    if (model) this.placed.fromIndex += matched.size;
    else this.placed.fromSql += matched.size;
    if (model && unplaced.length > 0) {
      // the index found too few: the SQL candidates have the last word before a job rests
      const again = await this.placeAll(await Promise.all(unplaced.map(rank)), now, undefined);
      this.placed.fromSql += again.matched.size;
      matched = new Map([...matched, ...again.matched]);
      unplaced = again.unplaced;
    }
    for (const [id, assignments] of matched) outcomes.set(id, { kind: "matched", assignments });
    const openByDuration = new Map<number, Promise<Candidate[]>>();
    for (const plan of unplaced) {
      const seconds = plan.req.maxDurationSeconds;
      let open = openByDuration.get(seconds);
      if (!open) openByDuration.set(seconds, (open = loadOpenOffers(this.db, onlineSince, now, seconds, this.settings.explainLimit)));
      const excluded = explainShortfall((await open).filter((c) => !plan.failedNodes.has(c.nodeId)), { ...plan.req, redundancy: plan.needed.length }, plan.busyProviders);
      if (plan.job.timeInForce === "IOC" && plan.job.matchedAt === null) {
        await this.cancelUnfilled(plan.job.id, excluded, now);
        outcomes.set(plan.job.id, { kind: "cancelled", excluded });
        continue;
      }
      await this.rest(plan.job.id, excluded, now);
      outcomes.set(plan.job.id, { kind: "resting", excluded });
    }
    return outcomes;
  }

  /** Resting jobs this offer can serve, placed highest cap first then oldest. Returns how many matched. */
  async matchRestingFor(offerId: string, now = new Date()): Promise<number> {
    const offer = await candidateById(this.db, offerId, this.onlineSince(now), now);
    if (!offer) return 0;
    const served = (await restingBidsServedBy(this.db, offer)).map((b) => b.jobId);
    if (served.length === 0) return 0;
    return [...(await this.matchJobs(served, now)).values()].filter((o) => o.kind === "matched").length;
  }

  /**
   * One placement transaction. With a read model, what it must not trust afterwards is read again into it: offers of
   * lost claims and of claims rolled back (a savepoint, a retried attempt, a failed transaction); committed claims are
   * exact already (claimed() took the GPUs off).
   */
  private async placeAll(plans: readonly Planned[], now: Date, model: OfferReadModel | undefined) {
    const claims: Claims = { reread: new Set(), ever: new Set(), kept: new Set() };
    let deltas: BookDelta[] = [];
    let committed = false;
    try {
      const placed = await inTransaction(this.db, (tx) => {
        claims.kept = new Set();
        return this.place(tx, plans, now, model, claims);
      });
      committed = true;
      deltas = placed.deltas;
      this.onBookChange(deltas);
      return placed;
    } finally {
      const reread = [...claims.reread, ...[...claims.ever].filter((id) => !committed || !claims.kept.has(id))];
      await this.model?.afterPlacement([...new Set(reread)], deltas);
    }
  }

  /**
   * One transaction: locks the batch's jobs that no other worker holds (SKIP LOCKED), then for each in priority
   * order claims one offer per replica from distinct providers; a job that cannot get all its replicas is
   * rolled back to its savepoint and left for resting.
   */
  private async place(tx: EntityManager, plans: readonly Planned[], now: Date, model: OfferReadModel | undefined, claims: Claims) {
    const locked = new Set(await lockPendingJobs(tx, plans.map((p) => p.job.id)));
    const resumeSteps = await lastCheckpointSteps(tx, [...locked]);
    const leaseExpiresAt = new Date(now.getTime() + this.settings.leaseMs);
    const onlineSince = this.onlineSince(now);
    /** Offers a claim failed on in this batch, with the GPUs and cap it failed at: a job asking as much for no more skips them. */
    const exhausted = new Map<string, { gpus: number; capWei: bigint }>();
    const changes: LevelChange[] = [];
    const matched = new Map<string, number>();
    const unplaced: Planned[] = [];
    for (const plan of plans) {
      if (!locked.has(plan.job.id)) continue;
      const { job, needed } = plan;
      if (needed.length === 0) continue;
      const savepoint = needed.length > 1;
      if (savepoint) await savepointReplicaClaims(tx);
      const used = new Set<string>(plan.busyProviders);
      const claimed: Claimed[] = [];
      const tried = new Set<string>();
      const skip = (c: Candidate) => {
        if (tried.has(c.offerId) || plan.failedNodes.has(c.nodeId)) return true;
        const failed = exhausted.get(c.offerId);
        return failed !== undefined && job.gpuCount >= failed.gpus && job.maxPriceWei <= failed.capWei;
      };
      let cursor = 0;
      const next = (): Candidate | undefined => {
        if (model) return model.choose(plan.req, { now, maxDurationSeconds: job.maxDurationSeconds, excludeProviders: used, skip });
        const ranked = plan.ranked ?? [];
        while (cursor < ranked.length && (used.has(ranked[cursor].providerId) || skip(ranked[cursor]))) cursor++;
        return ranked[cursor++];
      };
      while (claimed.length < needed.length) {
        const candidate = next();
        if (!candidate) break;
        tried.add(candidate.offerId);
        const replica = needed[claimed.length];
        const got = await claimOffer(tx, job, candidate.offerId, replica, job.gpuCount, now, {
          expiresAt: leaseExpiresAt,
          resumeFromStep: resumeSteps.get(`${job.id}:${replica}`) ?? null,
          onlineSince,
        });
        if (!got) {
          exhausted.set(candidate.offerId, { gpus: job.gpuCount, capWei: job.maxPriceWei });
          claims.reread.add(candidate.offerId);
          continue;
        }
        model?.claimed(candidate.offerId, job.gpuCount);
        claims.ever.add(candidate.offerId);
        claims.kept.add(candidate.offerId);
        used.add(got.providerId);
        claimed.push(got);
      }
      if (claimed.length < needed.length) {
        if (savepoint) await rollbackReplicaClaims(tx);
        for (const got of claimed) claims.reread.add(got.offerId);
        unplaced.push(plan);
        continue;
      }
      for (const got of claimed) changes.push({ market: got.market, side: "ASK", priceWei: got.priceWei });
      if (job.resting) {
        for (const market of await marketsForRequirements(tx, job.minVramGb, job.gpuModels)) changes.push({ market, side: "BID", priceWei: job.maxPriceWei });
      }
      matched.set(job.id, claimed.length);
    }
    if (matched.size > 0) {
      const updated = await markJobsMatched(tx, [...matched.keys()], now);
      await recordEvents(
        tx,
        JOB_PROGRESS_TOPIC,
        updated.map((j) => ({ jobId: j.id, status: j.status, progress: j.progress, message: "matched", assignmentId: null, at: now.toISOString() })),
      );
    }
    return { matched, unplaced, deltas: await recordBookChanges(tx, changes) };
  }

  /** Cancels a never-placed IOC job that could not be filled, with why in its status message (it never rested: no bid delta). */
  private async cancelUnfilled(jobId: string, excluded: Exclusion[], now: Date): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const current = await jobById(tx, jobId, true);
      if (!current || current.status !== "PENDING" || current.matchedAt !== null) return;
      const why = excluded.length > 0 ? `: ${excluded.map((e) => e.message).join("; ")}` : ": no open offers";
      await recordUnfilledAttempt(tx, jobId, excluded, now);
      await failJob(tx, current, `immediate-or-cancel: no offer could fill it at once${why}`, now, "CANCELLED");
    });
  }

  /** Leaves a PENDING job on the bid side with its exclusion reasons (bid deltas when it starts resting). */
  private async rest(jobId: string, excluded: Exclusion[], now: Date): Promise<void> {
    const deltas = await inTransaction(this.db, async (tx) => {
      const current = await jobById(tx, jobId, true);
      if (!current || current.status !== "PENDING") return [] as BookDelta[];
      await restJob(tx, jobId, excluded, now);
      if (current.resting) return [];
      const markets = await marketsForRequirements(tx, current.minVramGb, current.gpuModels);
      return recordBookChanges(tx, markets.map((market) => ({ market, side: "BID" as const, priceWei: current.maxPriceWei })));
    });
    this.onBookChange(deltas);
  }

  private onlineSince(now: Date): Date {
    return new Date(now.getTime() - this.settings.heartbeatWindowSeconds * 1000);
  }
}

/** Offers a placement claimed: lost or rolled back (reread), claimed in any attempt (ever), in the last attempt (kept). */
interface Claims {
  reread: Set<string>;
  ever: Set<string>;
  kept: Set<string>;
}

/** Resting-bid priority: highest cap first, then oldest. */
function byPriority(a: JobRecord, b: JobRecord): number {
  if (a.maxPriceWei !== b.maxPriceWei) return a.maxPriceWei > b.maxPriceWei ? -1 : 1;
  return a.ordinal < b.ordinal ? -1 : a.ordinal > b.ordinal ? 1 : 0;
}
