import type { ArtifactService } from "./artifact.service";
import type { LogService } from "./log.service";
import { createHash } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { formatDecimal, formatUsd, holdWei, MAX_PRICE_WEI, MAX_USD_MICROS, parseUsd, PricingError, usdCapToWei, usdCharge, usdOfWeiCeil, usdOfWeiFloor } from "../../pricing";
import { jobById, type JobRecord } from "../db/repositories/job.repository";
import { upsertAccountId } from "../db/repositories/account.repository";
import {
  availableUsd,
  creditUsd,
  endedUnchargedRelayJobs,
  holdUsd,
  insertRelayJob,
  insertUsdCredit,
  insertUsdRate,
  latestUsdRate,
  lockRelayKey,
  lockUnchargedRelayJob,
  relayCharges,
  relayJobAccount,
  relayJobById,
  relayJobByKey,
  setRelayCharge,
  releaseUsdHold,
  usdBalance,
} from "../db/repositories/relay.repository";
import { badInput, conflict, forbidden, notFound, ServiceError, unavailable } from "./errors";
import { inTransaction } from "../db/transaction";
import type { JobService, SubmitJobData, ValidatedJob } from "./job.service";
import { signDraft, type TypedDataSigner } from "./job-order";
import type { JobOrderDraft } from "./job-order.service";
import { parseRelayJob } from "./relay-input";
import { hasControlCharacters } from "./workload";
import { assertId, requirePrincipal, type Principal } from "./principal";


/** A dollar amount with at most 6 decimals and at most MAX_USD_MICROS, in micro-dollars (pricing/usd.ts); BAD_USER_INPUT naming `field` otherwise. */
export function parseUsdMicros(text: unknown, field: string): bigint {
  if (typeof text !== "string") throw badInput(`${field} is a decimal string of US dollars such as "2.5"`);
  try {
    return parseUsd(text);
  } catch (err) {
    if (!(err instanceof PricingError)) throw err;
    if (err.code === "TOO_MANY_DECIMALS") throw badInput(`${field} has more than 6 decimals`);
    if (err.code === "AMOUNT_TOO_LARGE") throw badInput(`${field} may be at most ${usdText(MAX_USD_MICROS)} USD`);
    throw badInput(`${field} is a decimal string of US dollars such as "2.5"`);
  }
}

/** A label an operator gives (a credit's note, a rate's source): printable text of 1 to `max` characters. */
function label(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value.length < 1 || value.length > max || hasControlCharacters(value)) {
    throw badInput(`${field} is 1 to ${max} characters of printable text`);
  }
  return value;
}

export const usdText = formatUsd;

export interface RelayQuote {
  usdPerGpuHour: string;
  maxUsd: string;
  /** The OGPU/USD rate fixed at quote time. */
  usdPerOgpu: string;
}

export interface RateSettings {
  /** OGPU_USD_RATE in US micro-dollars per OGPU, when set. */
  standingMicros?: bigint;
  /** A fed rate older than this prices nothing. */
  maxAgeSeconds: number;
}

export interface QuotedRate {
  usdPerOgpu: string;
  source: string;
  at: Date | null;
  micros: bigint;
}

/**
 * The HTTPS relay for clients without wallets: jobs priced in USD at an OGPU/USD rate fixed when they are
 * submitted, held against a prepaid USD balance (402 when it cannot cover the maximum cost), charged at the end
 * at the job's OGPU cost times that rate (rounded down).
 *
 * The OGPU side is the operator's: a relay job's client on the book is the treasury account (RELAY_TREASURY_ADDRESS),
 * whose escrow holds the OGPU and pays the providers through settlement, while the key's account pays in USD only.
 * The key's account owns the job on the relay (relay_jobs.account_id). The same Idempotency-Key and body give the
 * same job, even sent concurrently; another body is 409.
 */
export class RelayService {
  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobService,
    private readonly rates: RateSettings,
    /** The account whose escrow funds relay jobs in OGPU; unset: the relay refuses jobs (503). */
    private readonly treasuryAddress?: string,
    private readonly data?: { artifacts: ArtifactService; logs: LogService },
    /** The treasury's key, which signs each relay job's order (the escrow then bounds what settlement takes to it); absent: relay jobs go unsigned. */
    private readonly signing?: { signer: TypedDataSigner; orders: { readonly enabled: boolean; draft(who: Principal, checked: ValidatedJob): Promise<JobOrderDraft> } },
  ) {}

  /** The treasury's signed order for a relay job, when it has a key and the server takes orders. */
  private async treasuryOrder(validated: ValidatedJob): Promise<SubmitJobData["order"]> {
    if (!this.signing?.orders.enabled) return undefined;
    const draft = await this.signing.orders.draft(await this.treasury(this.db), validated);
    return signDraft(draft, this.signing.signer);
  }

  /** The treasury as the principal its relay jobs are submitted under (its account made on first use). */
  private async treasury(tx: Pick<EntityManager, "query">): Promise<Principal> {
    if (!this.treasuryAddress) throw unavailable("the relay takes no jobs: the operator has not configured its OGPU treasury (RELAY_TREASURY_ADDRESS)");
    const address = this.treasuryAddress.toLowerCase();
    return { accountId: await upsertAccountId(tx, address), address, via: "apiKey" };
  }

  /**
   * The OGPU/USD rate new relay jobs are quoted at: the latest fed one while it is younger than the maximum age, else
   * the standing OGPU_USD_RATE; undefined when there is neither (a feed that stopped, with no standing rate).
   */
  async rate(db: Pick<EntityManager, "query"> = this.db): Promise<QuotedRate | undefined> {
    const fed = await latestUsdRate(db, this.rates.maxAgeSeconds);
    if (fed) {
      const micros = BigInt(fed.usd_per_ogpu_micros);
      return { usdPerOgpu: usdText(micros), source: fed.source, at: fed.created_at, micros };
    }
    const standing = this.rates.standingMicros;
    return standing === undefined ? undefined : { usdPerOgpu: usdText(standing), source: "configured (OGPU_USD_RATE)", at: null, micros: standing };
  }

  private async currentRate(db: Pick<EntityManager, "query">): Promise<bigint> {
    const rate = await this.rate(db);
    if (!rate) throw unavailable(`the relay quotes no jobs: no OGPU/USD rate fed in the last ${this.rates.maxAgeSeconds} s and no OGPU_USD_RATE set`);
    return rate.micros;
  }

  /** An operator's or a price feed's OGPU/USD rate; it prices relay jobs submitted from now on (not earlier ones). */
  async feedRate(usdPerOgpu: unknown, source: unknown): Promise<string> {
    const micros = parseUsdMicros(usdPerOgpu, "usdPerOgpu");
    if (micros <= 0n) throw badInput("usdPerOgpu must be more than 0");
    const from = label(source === undefined ? "admin" : source, "source (where the rate comes from)", 100);
    await insertUsdRate(this.db, micros, from);
    return usdText(micros);
  }

  async submit(principal: Principal | undefined, idempotencyKey: string | undefined, body: unknown): Promise<{ created: boolean; jobId: string; status: string; quote: RelayQuote }> {
    const who = requirePrincipal(principal);
    if (who.via !== "apiKey") throw new ServiceError("UNAUTHENTICATED", "the relay takes API keys: send Authorization: Bearer <API key>");
    const input = parseRelayJob(body);
    const key = idempotencyKey ?? input.idempotencyKey ?? undefined;
    if (!key || !/^[\x21-\x7e]{1,100}$/.test(key)) throw badInput("send an Idempotency-Key header: 1 to 100 printable characters");
    const usdPerGpuHour = parseUsdMicros(input.requirements.maxPriceUsdPerGpuHour, "requirements.maxPriceUsdPerGpuHour");
    if (usdPerGpuHour <= 0n) throw badInput("requirements.maxPriceUsdPerGpuHour must be more than 0");
    const { maxPriceUsdPerGpuHour: _usd, ...rest } = input.requirements;
    const { idempotencyKey: _key, ...job } = input;
    // on the book the treasury is the client: the job's own idempotency key is unique per relay account and key
    const jobKey = `relay:${createHash("sha256").update(`${who.accountId}\u0000${key}`).digest("hex").slice(0, 40)}`;
    // the parsed body in its canonical form (fields in a fixed order, defaults applied, the price in micro-dollars)
    const requestHash = createHash("sha256").update(JSON.stringify({ ...job, requirements: { ...rest, usdPerGpuHourMicros: usdPerGpuHour.toString() } })).digest("hex");
    const replay = async (db: Pick<EntityManager, "query">) => {
      const existing = await relayJobByKey(db, who.accountId, key);
      if (!existing) return undefined;
      if (existing.request_hash !== requestHash) throw conflict(`Idempotency-Key "${key}" was used for another job with a different body; use a new key`);
      const stored = await jobById(db, existing.job_id);
      return { created: false, jobId: existing.job_id, status: stored!.status, perHour: BigInt(existing.usd_per_gpu_hour_micros), maxUsd: BigInt(existing.max_usd_micros), rate: BigInt(existing.usd_per_ogpu_micros) };
    };
    const earlier = await replay(this.db);
    if (earlier) return this.reply(earlier);
    // the rate of this moment, fixed on the job: its USD cap, hold and charge all use it; read, like the whole check,
    // before the transaction, which then needs no second connection while it holds one
    const rate = await this.currentRate(this.db);
    const maxPriceWei = usdCapToWei(usdPerGpuHour, rate);
    if (maxPriceWei > MAX_PRICE_WEI) throw badInput(`requirements.maxPriceUsdPerGpuHour may be at most ${usdText(usdOfWeiFloor(MAX_PRICE_WEI, rate))} USD at today's rate`);
    const data: SubmitJobData = { ...job, kind: job.kind as SubmitJobData["kind"], requirements: { ...rest, maxPriceWei }, idempotencyKey: jobKey };
    // the whole job is checked before any USD is held, so bad input is 400 whatever the balance
    const validated = await this.jobs.validate(data);
    const { req } = validated;
    const hold = holdWei(maxPriceWei, req.gpuCount, req.maxDurationSeconds, req.redundancy);
    const maxUsd = usdOfWeiCeil(hold, rate);
    if (maxUsd > MAX_USD_MICROS) throw badInput(`this job may cost up to ${usdText(maxUsd)} USD, more than the relay takes at once (${usdText(MAX_USD_MICROS)} USD); lower the cap, GPUs or duration`);
    // the treasury signs the job's order before anything is held (a nonce whose job is never stored is just never marked)
    data.order = await this.treasuryOrder(validated);
    const result = await inTransaction(this.db, async (tx) => {
      await lockRelayKey(tx, who.accountId, key);
      const concurrent = await replay(tx);
      if (concurrent) return concurrent;
      if (!(await holdUsd(tx, who.accountId, maxUsd))) {
        const available = await availableUsd(tx, who.accountId);
        throw new ServiceError("INSUFFICIENT_FUNDS", `this job may cost up to ${usdText(maxUsd)} USD and your balance is ${usdText(available)} USD; add funds or lower the cap, GPUs or duration`);
      }
      const treasury = await this.treasury(tx);
      const { job: stored } = await this.jobs.submitIn(tx, treasury, data, validated, who.accountId).catch((err: unknown) => {
        if (err instanceof ServiceError && err.code === "INSUFFICIENT_FUNDS") {
          throw unavailable("the relay's OGPU treasury cannot hold this job now; try again later or lower the cap, GPUs or duration", 60);
        }
        throw err;
      });
      await insertRelayJob(tx, { jobId: stored.id, accountId: who.accountId, key, requestHash, usdPerOgpuMicros: rate, usdPerGpuHourMicros: usdPerGpuHour, maxUsdMicros: maxUsd });
      return { created: true, jobId: stored.id, status: stored.status, perHour: usdPerGpuHour, maxUsd, rate };
    });
    if (result.created) this.jobs.queueMatching(result.jobId);
    return this.reply(result);
  }

  private reply(r: { created: boolean; jobId: string; status: string; perHour: bigint; maxUsd: bigint; rate: bigint }) {
    return { created: r.created, jobId: r.jobId, status: r.status, quote: { usdPerGpuHour: usdText(r.perHour), maxUsd: usdText(r.maxUsd), usdPerOgpu: usdText(r.rate) } };
  }

  async get(principal: Principal | undefined, jobId: string) {
    const who = requirePrincipal(principal);
    assertId("job", jobId);
    const row = await relayJobById(this.db, jobId);
    if (!row) throw notFound("job", jobId);
    if (row.account_id !== who.accountId) throw forbidden("this job belongs to another account");
    const job = (await jobById(this.db, jobId))!;
    return {
      id: job.id,
      status: job.status,
      progress: job.progress,
      costOgpu: job.costWei === null ? null : formatDecimal(job.costWei),
      costUsd: row.charged_usd_micros === null ? null : usdText(BigInt(row.charged_usd_micros)),
      quote: { usdPerGpuHour: usdText(BigInt(row.usd_per_gpu_hour_micros)), maxUsd: usdText(BigInt(row.max_usd_micros)), usdPerOgpu: usdText(BigInt(row.usd_per_ogpu_micros)) },
      ...(await this.dataOf(principal, job)),
    };
  }

  /** A relay job's result, outputs (signed download URLs for the key's account) and inputs, as GraphQL gives them. */
  private async dataOf(principal: Principal | undefined, job: JobRecord) {
    const ref = { id: job.id, clientId: job.clientId, resultHash: job.resultHash, endedAt: job.endedAt };
    const outputs = this.data ? ((await this.data.artifacts.outputsOf([job.id])).get(job.id) ?? []) : [];
    const view = this.data ? await this.data.artifacts.resultView(principal, ref, outputs) : { sizeBytes: null, downloadUrl: null, expiresAt: null };
    const linked = this.data ? await this.data.artifacts.linkedOutputs(principal, ref, outputs) : [];
    return {
      result: job.resultHash
        ? { hash: job.resultHash, uri: job.resultUri, agreedBy: job.agreedBy ?? 0, sizeBytes: view.sizeBytes?.toString() ?? null, downloadUrl: view.downloadUrl, expiresAt: view.expiresAt }
        : null,
      outputs: linked.map((o) => ({ name: o.record.name, sizeBytes: o.record.sizeBytes.toString(), sha256: o.record.sha256, downloadUrl: o.url, expiresAt: o.expiresAt })),
    };
  }

  /** Log lines of a relay job of the key's account after `after` (0: from the first), at most `limit` (1..1000), oldest first. */
  async logs(principal: Principal | undefined, jobId: string, after: unknown, limit: unknown) {
    await this.get(principal, jobId);
    const afterSeq = after === undefined ? 0n : /^\d{1,18}$/.test(String(after)) ? BigInt(String(after)) : undefined;
    if (afterSeq === undefined) throw badInput("after must be a log sequence number (a whole number)");
    const n = limit === undefined ? 200 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw badInput("limit must be from 1 to 1000");
    const lines = this.data ? await this.data.logs.after(jobId, afterSeq, n) : [];
    return { lines: lines.map((l) => ({ seq: l.seq.toString(), assignmentId: l.assignmentId, stream: l.stream, line: l.line, at: l.at })), next: (lines.at(-1)?.seq ?? afterSeq).toString() };
  }

  /**
   * Cancels a relay job of the key's account (as cancelJob would: running work is charged for its time, the rest of
   * the hold released, in USD by the next charge sweep). Cancelling a cancelled job changes nothing.
   */
  async cancel(principal: Principal | undefined, jobId: string) {
    const who = requirePrincipal(principal);
    assertId("job", jobId);
    const owner = await relayJobAccount(this.db, jobId);
    if (!owner) throw notFound("job", jobId);
    if (owner !== who.accountId) throw forbidden("this job belongs to another account");
    await this.jobs.cancel(await this.treasury(this.db), jobId);
    return this.get(principal, jobId);
  }

  async usage(principal: Principal | undefined) {
    const who = requirePrincipal(principal);
    const { credited, held, spent } = await usdBalance(this.db, who.accountId);
    const charges = await relayCharges(this.db, who.accountId);
    const rate = await this.rate();
    return {
      balanceUsd: usdText(credited - held - spent),
      heldUsd: usdText(held),
      spentUsd: usdText(spent),
      creditedUsd: usdText(credited),
      /** What new jobs are quoted at now. */
      usdPerOgpu: rate?.usdPerOgpu ?? null,
      charges: charges.map((c) => ({ jobId: c.job_id, usd: usdText(BigInt(c.charged_usd_micros)), at: c.created_at })),
    };
  }

  /** An admin's credit of USD to an address's account (created on first sight). */
  async credit(address: string, usd: unknown, note?: unknown): Promise<string> {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw badInput("address must be a 0x address");
    const micros = parseUsdMicros(usd, "usd");
    if (micros <= 0n) throw badInput("usd must be more than 0");
    const noted = note === undefined ? null : label(note, "note", 200);
    return this.db.transaction(async (tx) => {
      const accountId = await upsertAccountId(tx, address.toLowerCase());
      await insertUsdCredit(tx, accountId, micros, noted);
      return usdText(await creditUsd(tx, accountId, micros));
    });
  }

  /** Charges relay jobs that ended: their OGPU cost at the rate fixed at submit (rounded down), the rest of the hold released. */
  async chargeEnded(limit = 500): Promise<number> {
    const due = await endedUnchargedRelayJobs(this.db, limit);
    let charged = 0;
    for (const job_id of due) {
      await this.db.transaction(async (tx: EntityManager) => {
        const r = await lockUnchargedRelayJob(tx, job_id);
        if (!r) return;
        const job = (await jobById(tx, job_id))!;
        const charge = usdCharge(job.costWei ?? 0n, BigInt(r.usd_per_ogpu_micros), BigInt(r.max_usd_micros));
        await setRelayCharge(tx, job_id, charge);
        await releaseUsdHold(tx, r.account_id, r.max_usd_micros, charge);
        charged++;
      });
    }
    return charged;
  }
}
