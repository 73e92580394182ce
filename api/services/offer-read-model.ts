import type { DataSource } from "typeorm";
import { OfferIndex, type Candidate, type Requirements } from "../../matching";
import type { BookDelta } from "../db/repositories/book.repository";
import { bookClock, offersAt, offerSnapshot, type IndexedOffer, type OfferSnapshot } from "../db/repositories/offer-feed.repository";

export interface ReadModelSettings {
  heartbeatWindowSeconds: number;
  /** How long a placement waits for book deltas the database has committed and this model has not applied; past it the markets behind are read again. */
  fenceMs: number;
}

/** What a placement asks of the read model for one replica. */
export interface ChooseOptions {
  now: Date;
  maxDurationSeconds: number;
  excludeProviders: ReadonlySet<string>;
  /** Offers not to choose (tried in this placement, on a node that failed the job, exhausted in this batch). */
  skip: (c: Candidate) => boolean;
}

interface NodeState {
  heartbeatMs: number | null;
  measuredLatencyMs: number | null;
  offers: Set<string>;
}

/** How far back a heartbeat poll reads past the last one (a heartbeat's timestamp is its statement's start). */
const HEARTBEAT_OVERLAP_MS = 1000;
const SWEEP_EVERY_MS = 1000;

const levelOf = (market: string, priceWei: bigint | string) => `${market}\u0000${priceWei}`;

/**
 * A matching worker's read model of the open offers: an OfferIndex loaded from one snapshot at start and kept
 * current from the book deltas (every writer of offers records them in its transaction; the outbox relay publishes
 * them): a delta names a price level of a market, and the offers at that level are read again. Deltas are gapless per
 * market, so the model knows how far each market is applied; before each placement (catchUp) it compares that with
 * the markets' sequences in Postgres, waits up to `fenceMs` for what is missing, and reads a market again when a delta
 * never came. Heartbeats (which record no delta) are polled by time; expiry, minimum duration and the heartbeat window
 * are judged at the placement's `now` (choose). verify() compares everything with a fresh snapshot (reputation and
 * stake change with no delta). It only chooses: capacity is claimed by the conditional UPDATE in Postgres, so a stale
 * model can cost a retry on the next candidate, never an oversell.
 */
export class OfferReadModel {
  readonly index = new OfferIndex();
  private readonly held = new Map<string, IndexedOffer>();
  private readonly levels = new Map<string, Set<string>>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly applied = new Map<string, bigint>();
  private readonly received = new Map<string, Set<bigint>>();
  private pendingLevels = new Map<string, { market: string; priceWei: string }>();
  private pendingSeqs: { market: string; sequence: bigint }[] = [];
  private serial: Promise<unknown> = Promise.resolve();
  private flushing = false;
  private readonly waiters = new Set<() => void>();
  private heartbeatSinceMs = 0;
  private lastSweepMs = 0;
  readonly counts = { levelReads: 0, marketReads: 0, verified: 0, differences: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly settings: ReadModelSettings,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** The held offer with this id, as the model knows it. */
  offer(offerId: string): IndexedOffer | undefined {
    return this.held.get(offerId);
  }

  /** Loads every open offer from one snapshot (replacing what is held). */
  async load(): Promise<void> {
    this.heartbeatSinceMs = Date.now() - 5 * HEARTBEAT_OVERLAP_MS;
    await this.inTurn(async () => this.replace(await offerSnapshot(this.db, this.onlineSinceMs(Date.now())), undefined));
  }

  /** Reads every open offer again and makes the model equal to it; returns how many offers differed. */
  verify(): Promise<number> {
    return this.inTurn(async () => {
      const differences = this.replace(await offerSnapshot(this.db, this.onlineSinceMs(Date.now())), undefined);
      this.counts.verified++;
      this.counts.differences += differences;
      return differences;
    });
  }

  /** Book deltas committed (from the feed, or this process's own): the ask levels they name are read again. */
  onDeltas(deltas: readonly BookDelta[]): void {
    for (const d of deltas) {
      const sequence = BigInt(d.sequence);
      if (sequence <= (this.applied.get(d.market) ?? 0n) || this.received.get(d.market)?.has(sequence)) continue;
      if (d.side === "ASK") this.pendingLevels.set(levelOf(d.market, d.priceWei), { market: d.market, priceWei: d.priceWei });
      this.pendingSeqs.push({ market: d.market, sequence });
    }
    if (this.pendingSeqs.length > 0 && !this.flushing) {
      this.flushing = true;
      void this.inTurn(() => this.flush()).catch(() => undefined);
    }
  }

  /**
   * Before a placement at `now`: takes in the heartbeats since the last poll, and makes sure every delta Postgres has
   * committed is applied (waiting up to fenceMs, then reading the markets still behind again).
   */
  async catchUp(now: Date): Promise<void> {
    const clock = await bookClock(this.db, this.heartbeatSinceMs - HEARTBEAT_OVERLAP_MS);
    const sequences = clock.sequences;
    this.heartbeatSinceMs = clock.polledAtMs;
    for (const beat of clock.nodes) this.heartbeat(beat.nodeId, beat.heartbeatMs, beat.measuredLatencyMs, now);
    if (now.getTime() - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(now);
    const behind = () => [...sequences].filter(([market, sequence]) => sequence > (this.applied.get(market) ?? 0n)).map(([market]) => market);
    if (behind().length === 0) return;
    await this.until(() => behind().length === 0, this.settings.fenceMs);
    for (const market of behind()) {
      await this.inTurn(async () => {
        this.replace(await offerSnapshot(this.db, this.onlineSinceMs(Date.now()), market), market);
        this.counts.marketReads++;
      });
    }
  }

  /**
   * The best offer for one replica, as OfferIndex.best ranks it, that is also unexpired at `now`, on a node whose
   * heartbeat is within the window at `now`, asks no longer a minimum duration than the job's maximum, and is not skipped.
   */
  choose(req: Requirements, opts: ChooseOptions): Candidate | undefined {
    const nowMs = opts.now.getTime();
    const onlineSince = this.onlineSinceMs(nowMs);
    const accept = (c: Candidate): boolean => {
      const o = this.held.get(c.offerId);
      if (o === undefined || opts.skip(c)) return false;
      if (o.expiresAtMs !== null && o.expiresAtMs <= nowMs) return false;
      if (o.minDurationSeconds !== null && o.minDurationSeconds > opts.maxDurationSeconds) return false;
      const beat = this.nodes.get(c.nodeId)?.heartbeatMs ?? null;
      return beat !== null && beat >= onlineSince;
    };
    return this.index.best(req, { excludeProviders: opts.excludeProviders, count: 1, accept })[0];
  }

  /** A claim of `gpus` on this offer went through in a placement not yet committed: the next replica sees fewer free. */
  claimed(offerId: string, gpus: number): void {
    const o = this.held.get(offerId);
    if (o) this.put({ ...o, candidate: { ...o.candidate, availableGpus: Math.max(0, o.candidate.availableGpus - gpus) } });
  }

  /**
   * After a placement: the offers it must not trust (claims lost, claims rolled back, every claim of a transaction
   * that failed) are read again, and its own deltas count as applied (its committed claims, already applied by
   * claimed(), are all it changed on the ask side).
   */
  afterPlacement(offerIds: readonly string[], deltas: readonly BookDelta[]): Promise<void> {
    return this.inTurn(async () => {
      if (offerIds.length > 0) this.apply(await offersAt(this.db, [], offerIds, this.onlineSinceMs(Date.now())), offerIds);
      for (const d of deltas) this.markReceived(d.market, BigInt(d.sequence));
      this.wake();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = false;
    while (this.pendingSeqs.length > 0) {
      const levels = [...this.pendingLevels.values()];
      const seqs = this.pendingSeqs;
      this.pendingLevels = new Map();
      this.pendingSeqs = [];
      if (levels.length > 0) {
        const ids = levels.flatMap((l) => [...(this.levels.get(levelOf(l.market, l.priceWei)) ?? [])]);
        this.apply(await offersAt(this.db, levels, ids, this.onlineSinceMs(Date.now())), ids);
        this.counts.levelReads += levels.length;
      }
      for (const s of seqs) this.markReceived(s.market, s.sequence);
      this.wake();
    }
  }

  /** Puts what was read; an offer of `expected` that was not read is no longer open and leaves. */
  private apply(rows: readonly IndexedOffer[], expected: readonly string[]): void {
    const read = new Set<string>();
    for (const row of rows) {
      read.add(row.candidate.offerId);
      this.put(row);
    }
    for (const id of expected) if (!read.has(id)) this.remove(id);
  }

  /** Makes the held offers (all, or one market's) equal to a snapshot; returns how many differed. */
  private replace(snapshot: OfferSnapshot, market: string | undefined): number {
    let differences = 0;
    const seen = new Set<string>();
    for (const row of snapshot.offers) {
      seen.add(row.candidate.offerId);
      const before = this.held.get(row.candidate.offerId);
      if (before === undefined || !sameOffer(before, row)) differences++;
      this.put(row);
    }
    for (const [id, o] of [...this.held]) {
      if ((market === undefined || o.market === market) && !seen.has(id)) {
        differences++;
        this.remove(id);
      }
    }
    for (const [m, sequence] of snapshot.sequences) {
      if (sequence > (this.applied.get(m) ?? 0n)) this.applied.set(m, sequence);
      const got = this.received.get(m);
      if (got) for (const s of got) if (s <= sequence) got.delete(s);
      this.advance(m);
    }
    this.wake();
    return differences;
  }

  private put(o: IndexedOffer): void {
    const id = o.candidate.offerId;
    const before = this.held.get(id);
    if (before) this.levels.get(levelOf(before.market, before.candidate.priceWei))?.delete(id);
    let node = this.nodes.get(o.candidate.nodeId);
    if (!node) this.nodes.set(o.candidate.nodeId, (node = { heartbeatMs: o.heartbeatMs, measuredLatencyMs: o.candidate.measuredLatencyMs, offers: new Set() }));
    if (o.heartbeatMs !== null && (node.heartbeatMs === null || o.heartbeatMs > node.heartbeatMs)) node.heartbeatMs = o.heartbeatMs;
    node.offers.add(id);
    const level = levelOf(o.market, o.candidate.priceWei);
    let members = this.levels.get(level);
    if (!members) this.levels.set(level, (members = new Set()));
    members.add(id);
    const online = node.heartbeatMs !== null && node.heartbeatMs >= this.onlineSinceMs(Date.now());
    const held = online === o.candidate.online ? o : { ...o, candidate: { ...o.candidate, online } };
    try {
      this.index.upsert(held.candidate);
    } catch {
      // an offer matching cannot read (assertCandidate): left out, as rankCandidates would never rank it
      this.remove(id);
      return;
    }
    this.held.set(id, held);
  }

  private remove(offerId: string): void {
    const o = this.held.get(offerId);
    if (!o) return;
    this.held.delete(offerId);
    this.levels.get(levelOf(o.market, o.candidate.priceWei))?.delete(offerId);
    this.nodes.get(o.candidate.nodeId)?.offers.delete(offerId);
    this.index.remove(offerId);
  }

  private heartbeat(nodeId: string, heartbeatMs: number, measuredLatencyMs: number | null, now: Date): void {
    const node = this.nodes.get(nodeId);
    if (!node || (node.heartbeatMs !== null && node.heartbeatMs >= heartbeatMs && node.measuredLatencyMs === measuredLatencyMs)) return;
    node.heartbeatMs = Math.max(node.heartbeatMs ?? 0, heartbeatMs);
    node.measuredLatencyMs = measuredLatencyMs;
    this.refreshNode(node, now);
  }

  /** Nodes whose heartbeat lapsed leave the searched trees (and come back on their next heartbeat). */
  private sweep(now: Date): void {
    this.lastSweepMs = now.getTime();
    for (const node of this.nodes.values()) this.refreshNode(node, now);
  }

  private refreshNode(node: NodeState, now: Date): void {
    const online = node.heartbeatMs !== null && node.heartbeatMs >= this.onlineSinceMs(now.getTime());
    for (const id of node.offers) {
      const o = this.held.get(id);
      if (!o || (o.candidate.online === online && o.candidate.measuredLatencyMs === node.measuredLatencyMs)) continue;
      const held = { ...o, heartbeatMs: node.heartbeatMs, candidate: { ...o.candidate, online, measuredLatencyMs: node.measuredLatencyMs } };
      this.held.set(id, held);
      this.index.upsert(held.candidate);
    }
  }

  private markReceived(market: string, sequence: bigint): void {
    if (sequence <= (this.applied.get(market) ?? 0n)) return;
    let got = this.received.get(market);
    if (!got) this.received.set(market, (got = new Set()));
    got.add(sequence);
    this.advance(market);
  }

  private advance(market: string): void {
    const got = this.received.get(market);
    let at = this.applied.get(market) ?? 0n;
    while (got?.has(at + 1n)) got.delete(++at);
    this.applied.set(market, at);
  }

  private onlineSinceMs(nowMs: number): number {
    return nowMs - this.settings.heartbeatWindowSeconds * 1000;
  }

  /** Reads and replacements run one at a time, so a read's result is applied in the order it was taken. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.waiters.add(check);
    });
  }
}

function sameOffer(a: IndexedOffer, b: IndexedOffer): boolean {
  const x = a.candidate;
  const y = b.candidate;
  return (
    a.market === b.market && a.expiresAtMs === b.expiresAtMs && a.minDurationSeconds === b.minDurationSeconds &&
    x.ordinal === y.ordinal && x.priceWei === y.priceWei && x.availableGpus === y.availableGpus && x.region === y.region &&
    x.measuredLatencyMs === y.measuredLatencyMs && x.reputation === y.reputation && x.stakeWei === y.stakeWei && x.providerId === y.providerId
  );
}
