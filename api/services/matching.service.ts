import type { DataSource, EntityManager } from "typeorm";
import { bidsServedBy, explainExclusions, rankCandidates, type Candidate, type Exclusion, type Requirements, type RestingBid } from "../../matching";
import { marketsForRequirements, recordBookChanges, type BookDelta, type LevelChange } from "../db/repositories/book.repository";
import { jobById, toJobRecord, type JobRecord } from "../db/repositories/job.repository";
import { candidateById, claimOffer, loadCandidates, loadOpenOffers, recordMatch, type Claimed } from "../db/repositories/match.repository";
import type { BookChangeListener } from "./offer.service";
import { requirementsOf } from "./requirements";

export interface MatchingSettings {
  heartbeatWindowSeconds: number;
  /** Most candidate offers loaded for one placement (cheapest first). */
  candidateLimit: number;
  /** Most open offers read to explain why a job matches none. */
  explainLimit: number;
}

export type MatchOutcome = { kind: "matched"; assignments: number } | { kind: "resting"; excluded: Exclusion[] } | { kind: "skipped"; status: string };

class LostRaces extends Error {}

const DEADLOCK = "40P01";
const SERIALIZATION = "40001";

/**
 * The worker side of matching: places a PENDING job on its best offers (distinct providers for redundancy),
 * claiming capacity with one conditional update per offer in the transaction that writes the assignments and
 * trades; a lost race tries the next candidate. What cannot be placed rests on the bid side with its reasons.
 */
export class MatchingService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: MatchingSettings,
    private readonly onBookChange: BookChangeListener,
  ) {}

  async matchJob(jobId: string, now = new Date()): Promise<MatchOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.tryMatch(jobId, now);
      } catch (err) {
        const code = (err as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (err as { code?: string }).code;
        if ((code === DEADLOCK || code === SERIALIZATION) && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Resting jobs this offer can serve, highest cap first then oldest, each matched in that order. */
  async matchRestingFor(offerId: string, now = new Date()): Promise<number> {
    const offer = await candidateById(this.db, offerId, this.onlineSince(now), now);
    if (!offer) return 0;
    const rows = await this.db.query(
      `SELECT * FROM jobs
        WHERE status = 'PENDING' AND resting AND max_price_wei >= $1 AND gpu_count <= $2 AND min_vram_gb <= $3
          AND (gpu_models IS NULL OR $4 = ANY(gpu_models))
        ORDER BY max_price_wei DESC, ordinal LIMIT 500`,
      [offer.priceWei.toString(), offer.availableGpus, offer.vramGb, offer.gpuModel],
    );
    const bids: RestingBid[] = rows.map((r: unknown) => {
      const job = toJobRecord(r);
      return { jobId: job.id, ordinal: Number(job.ordinal), requirements: requirementsOf(job) };
    });
    let matched = 0;
    for (const bid of bidsServedBy(offer, bids)) {
      if ((await this.matchJob(bid.jobId, now)).kind === "matched") matched++;
    }
    return matched;
  }

  private async tryMatch(jobId: string, now: Date): Promise<MatchOutcome> {
    const job = await jobById(this.db, jobId);
    if (!job || job.status !== "PENDING") return { kind: "skipped", status: job?.status ?? "MISSING" };
    const req = requirementsOf(job);
    const onlineSince = this.onlineSince(now);
    const candidates = await loadCandidates(this.db, { ...req, onlineSince, now, limit: this.settings.candidateLimit });
    const ranked = rankCandidates(candidates, req);
    if (new Set(ranked.map((c) => c.providerId)).size >= req.redundancy) {
      try {
        const { deltas, assignments } = await this.db.transaction((tx) => this.claim(tx, job.id, ranked, now));
        this.onBookChange(deltas);
        if (assignments > 0) return { kind: "matched", assignments };
        return { kind: "skipped", status: "NOT_PENDING" };
      } catch (err) {
        if (!(err instanceof LostRaces)) throw err;
      }
    }
    const open = await loadOpenOffers(this.db, onlineSince, now, req.maxDurationSeconds, this.settings.explainLimit);
    const excluded = explainShortfall(open, req);
    await this.rest(job, excluded, now);
    return { kind: "resting", excluded };
  }

  /** Claims one offer per replica from distinct providers, best first; all or nothing (LostRaces rolls back). */
  private async claim(tx: EntityManager, jobId: string, ranked: readonly Candidate[], now: Date): Promise<{ deltas: BookDelta[]; assignments: number }> {
    const job = await jobById(tx, jobId, true);
    if (!job || job.status !== "PENDING") return { deltas: [], assignments: 0 };
    const used = new Set<string>();
    const claimed: Claimed[] = [];
    for (const candidate of ranked) {
      if (claimed.length === job.redundancy) break;
      if (used.has(candidate.providerId)) continue;
      const got = await claimOffer(tx, candidate.offerId, job.gpuCount, job.maxPriceWei, now);
      if (!got) continue;
      used.add(got.providerId);
      claimed.push(got);
    }
    if (claimed.length < job.redundancy) throw new LostRaces();
    const changes: LevelChange[] = [];
    for (const [replica, got] of claimed.entries()) {
      await recordMatch(tx, job, got, replica, job.gpuCount, now);
      changes.push({ market: got.market, side: "ASK", priceWei: got.priceWei });
    }
    if (job.resting) {
      for (const market of await marketsForRequirements(tx, job.minVramGb, job.gpuModels)) changes.push({ market, side: "BID", priceWei: job.maxPriceWei });
    }
    await tx.query(
      `UPDATE jobs SET status = 'MATCHED', resting = false, excluded = NULL, matched_at = $2, match_attempted_at = $2, updated_at = now() WHERE id = $1`,
      [job.id, now],
    );
    return { deltas: await recordBookChanges(tx, changes), assignments: claimed.length };
  }

  /** Leaves a PENDING job on the bid side with its exclusion reasons (bid deltas when it starts resting). */
  private async rest(job: JobRecord, excluded: Exclusion[], now: Date): Promise<void> {
    const deltas = await this.db.transaction(async (tx) => {
      const current = await jobById(tx, job.id, true);
      if (!current || current.status !== "PENDING") return [];
      await tx.query(`UPDATE jobs SET resting = true, excluded = $2, match_attempted_at = $3, updated_at = now() WHERE id = $1`, [job.id, JSON.stringify(excluded), now]);
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

/**
 * Why a job cannot be placed now: each offer under its first failing filter, and, when the offers that pass
 * come from fewer providers than the job's redundancy needs, the repeats as SAME_PROVIDER.
 */
export function explainShortfall(open: readonly Candidate[], req: Requirements): Exclusion[] {
  const excluded = explainExclusions(open, req);
  const eligible = rankCandidates(open, req);
  const providers = new Set(eligible.map((c) => c.providerId)).size;
  if (eligible.length > 0 && providers < req.redundancy) {
    const repeats = eligible.length - providers;
    const offers = repeats === 1 ? "1 offer" : `${repeats} offers`;
    excluded.push({
      reason: "SAME_PROVIDER",
      offers: repeats,
      message: `${offers} from providers already chosen: redundancy ${req.redundancy} needs ${req.redundancy} distinct providers and ${providers} can serve it`,
    });
  }
  return excluded;
}
