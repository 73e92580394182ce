import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { holdWei } from "../../pricing";
import { formatDecimal } from "../../pricing";
import { issuedOrderNonces, jobsWithOrdersExpiring, reserveOrderNonce, signedOrdersOf, type JobOrderRow } from "../db/repositories/order.repository";
import { allowanceLeft, escrowWindow, waitingUnsignedJobs, type WaitingUnsignedJob } from "../db/repositories/allowance.repository";
import { inTransaction } from "../db/transaction";
import { badInput, ServiceError } from "./errors";
import { expiryProblem, uncoveredJobs, jobOrder, jobOrderDigest, orderSigner, typedDataJson, type OrderScope, type SignedOrderData } from "./job-order";

export type { SignedOrderData } from "./job-order";
import type { SubmitJobData, ValidatedJob } from "./job.service";
import { requirePrincipal, type Principal } from "./principal";
import type { Clock } from "./clock";
import { getAddress } from "ethers";
import type { Order } from "../../contracts/orders";
import { jobIdBytes32 } from "../db/repositories/settlement.repository";

export interface JobOrderSettings {
  /** The chain and escrow orders are signed for; absent: this server takes no signed orders. */
  scope?: OrderScope;
  /** How long a job with a prepared order may rest on the book (ORDER_TTL_SECONDS): its expiry is now plus this, the run and the margin. */
  ttlSeconds: number;
  /** What settlement may take after a job's run (a batch's wait and its mining): an order must leave that much. */
  settleMarginSeconds: number;
}

/** What prepareJobOrder returns: the order's terms, its digest, and the typed data for the wallet to sign. */
export interface JobOrderDraft {
  jobId: string;
  client: string;
  chainId: bigint;
  escrow: string;
  maxCostWei: bigint;
  market: string;
  expiry: bigint;
  nonce: bigint;
  digest: string;
  typedData: string;
}

/** A signed order as its client (or a watchtower acting for it) lists it: Escrow's Order, its signature and scope. */
export interface SignedOrderView {
  /** The job's id (a UUID); `order.jobId` is its bytes32 form. */
  jobId: string;
  order: Order;
  signature: string;
  digest: string;
  chainId: bigint;
  escrow: string;
  /** Its nonce was marked by a batch this marketplace did not send: the job's charges settled without it. */
  burned: boolean;
}

/** Me.signedOrders(first): its default and most. */
export const SIGNED_ORDERS_PAGE = { default: 100, max: 500 } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DIGITS = /^[0-9]{1,30}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/**
 * Signed orders (Escrow's EIP-712 Order): prepares one for a submission (a fresh job id, the account's next nonce,
 * the hold as maxCost, the request hash as market) and checks a signed one at submitJob against the submission,
 * the nonces issued and the client's wallet.
 */
export class JobOrderService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: JobOrderSettings,
    private readonly validate: (input: SubmitJobData) => Promise<ValidatedJob>,
    private readonly clock: Clock,
  ) {}

  private scope(): OrderScope {
    if (!this.settings.scope) throw badInput("this server takes no signed orders: it has no escrow contract configured");
    return this.settings.scope;
  }

  /** The order for `input` (validated as submitJob would), with a nonce reserved for the caller. */
  async prepare(principal: Principal | undefined, input: SubmitJobData): Promise<JobOrderDraft> {
    const who = requirePrincipal(principal);
    this.scope();
    return this.draft(who, await this.validate(input));
  }

  /** Whether this server takes signed orders (it has an escrow to sign them for). */
  get enabled(): boolean {
    return this.settings.scope !== undefined;
  }

  /** The order for a submission already validated, with a nonce reserved for `who`. */
  async draft(who: Principal, checked: ValidatedJob): Promise<JobOrderDraft> {
    const scope = this.scope();
    const nowSeconds = BigInt(Math.floor(this.clock.now().getTime() / 1000));
    // the job may rest on the book for the TTL, then still run and settle
    const expiry = nowSeconds + BigInt(this.settings.ttlSeconds + checked.req.maxDurationSeconds + this.settings.settleMarginSeconds);
    const nonce = await reserveOrderNonce(this.db, who.accountId);
    const jobId = randomUUID();
    const order = jobOrder({ jobId, client: who.address, maxCostWei: holdOf(checked), requestHash: checked.requestHash, expiry, nonce });
    return { jobId, client: order.client, chainId: scope.chainId, escrow: scope.escrow, maxCostWei: order.maxCost, market: order.market, expiry, nonce, digest: jobOrderDigest(scope, order), typedData: typedDataJson(scope, order) };
  }

  private windowed?: boolean;

  /**
   * Whether a job without a signed order must be covered by its client's on-chain spending allowance: the escrow has
   * a challenge window (the only other cover it takes), as the settlement runner mirrored it (not read yet: no).
   */
  async unsignedNeedsAllowance(): Promise<boolean> {
    if (!this.settings.scope) return false;
    if (this.windowed === undefined) {
      const window = await escrowWindow(this.db, this.settings.scope);
      if (window === undefined) return false;
      this.windowed = window > 0n; // fixed at deployment
    }
    return this.windowed;
  }

  /**
   * INSUFFICIENT_FUNDS unless the client's spending allowance, as mirrored, covers the unsigned job just inserted in
   * `tx` beside its other unsigned work, and lasts until the job could have run and settled.
   */
  async coverUnsigned(tx: Pick<DataSource, "query">, who: Principal, checked: ValidatedJob): Promise<void> {
    const { leftWei, until, readAs } = await allowanceLeft(tx, this.scope(), who.accountId, who.address);
    const needUntil = BigInt(Math.floor(this.clock.now().getTime() / 1000) + checked.req.maxDurationSeconds + this.settings.settleMarginSeconds);
    if (leftWei >= 0n && until >= needUntil) return;
    const hold = holdOf(checked);
    const has = readAs === null ? "you have set none" : `yours has ${formatDecimal(leftWei + hold < 0n ? 0n : leftWei + hold)} OGPU left beside your other unsigned jobs, until unix time ${until}`;
    throw new ServiceError(
      "INSUFFICIENT_FUNDS",
      `this escrow pays a job without a signed order only from your on-chain spending allowance (Escrow.approveSpending), and it must cover the job's ${formatDecimal(hold)} OGPU until unix time ${needUntil}: ${has}. ` +
        "Sign the job's order (prepareJobOrder, then submitJob with order) or raise your allowance",
    );
  }

  /**
   * The caller's signed orders for this server's chain and escrow with a nonce above `afterNonce`, by nonce, at most
   * `first` (default 100, at most 500); none when the server takes no signed orders. What a watchtower needs to tell a
   * batch entry its client signed for from one it did not.
   */
  async listSigned(principal: Principal | undefined, afterNonce: bigint | null, first: number | null): Promise<SignedOrderView[]> {
    const who = requirePrincipal(principal);
    const limit = first ?? SIGNED_ORDERS_PAGE.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > SIGNED_ORDERS_PAGE.max) throw badInput(`first must be between 1 and ${SIGNED_ORDERS_PAGE.max}`);
    if (afterNonce !== null && afterNonce < 0n) throw badInput("afterNonce must be at least 0");
    const scope = this.settings.scope;
    if (!scope) return [];
    const rows = await signedOrdersOf(this.db, who.accountId, scope, afterNonce, limit);
    return rows.map((r) => ({
      jobId: r.jobId,
      order: { jobId: jobIdBytes32(r.jobId), client: getAddress(who.address), maxCost: r.maxCostWei, market: r.market, expiry: r.expiry, nonce: r.nonce },
      signature: r.signature,
      digest: r.digest,
      chainId: r.chainId,
      escrow: getAddress(r.escrow),
      burned: r.burned,
    }));
  }

  /**
   * Waiting unsigned jobs (PENDING, nothing of them at work) that their client's spending allowance, as mirrored, no
   * longer backs on a windowed escrow: a decrease the client requested after they were taken (admission counts a
   * pending decrease as applied), or an allowance that ends before the job could run and settle. Per client the
   * newest go first, until what is left covers the rest; JobService.expire ends them, so no provider starts work the
   * chain would not pay for.
   */
  async uncoveredUnsigned(now = this.clock.now()): Promise<string[]> {
    if (!(await this.unsignedNeedsAllowance())) return [];
    const scope = this.scope();
    const nowSeconds = BigInt(Math.floor(now.getTime() / 1000));
    const byClient = new Map<string, WaitingUnsignedJob[]>();
    for (const j of await waitingUnsignedJobs(this.db)) byClient.set(j.clientId, [...(byClient.get(j.clientId) ?? []), j]);
    const out: string[] = [];
    for (const jobs of byClient.values()) {
      const { leftWei, until } = await inTransaction(this.db, (tx) => allowanceLeft(tx, scope, jobs[0].clientId, jobs[0].address));
      out.push(...uncoveredJobs(jobs, { leftWei, until }, nowSeconds, this.settings.settleMarginSeconds));
    }
    return out;
  }

  /** PENDING jobs that can no longer run and settle before their signed order expires (JobService.expire ends them). */
  dueToExpire(now = this.clock.now()): Promise<string[]> {
    return jobsWithOrdersExpiring(this.db, BigInt(Math.floor(now.getTime() / 1000)), this.settings.settleMarginSeconds);
  }

  /**
   * The stored form of a signed order for `checked` (the submission as validated): BAD_USER_INPUT, naming the
   * field, for a malformed field, a nonce never issued to the caller, an expiry too near, or a signature that is
   * not the caller's wallet's over exactly this order (the input changed since it was prepared, say).
   */
  async check(who: Principal, checked: ValidatedJob, signed: SignedOrderData): Promise<JobOrderRow> {
    const scope = this.scope();
    if (typeof signed.jobId !== "string" || !UUID.test(signed.jobId)) throw badInput("order.jobId must be the jobId prepareJobOrder returned (a lower-case UUID)");
    if (!DIGITS.test(signed.nonce)) throw badInput("order.nonce must be the decimal nonce prepareJobOrder returned");
    if (!DIGITS.test(signed.expiry)) throw badInput("order.expiry must be the decimal unix seconds prepareJobOrder returned");
    if (!SIGNATURE.test(signed.signature)) throw badInput("order.signature must be a 65-byte signature, 0x and 130 hex digits (eth_signTypedData_v4 of the typedData)");
    const nonce = BigInt(signed.nonce);
    const expiry = BigInt(signed.expiry);
    if (nonce >= (await issuedOrderNonces(this.db, who.accountId))) throw badInput(`order.nonce ${nonce} was not issued to you: call prepareJobOrder for each job`);
    const nowSeconds = BigInt(Math.floor(this.clock.now().getTime() / 1000));
    const late = expiryProblem(expiry, nowSeconds, checked.req.maxDurationSeconds, this.settings.settleMarginSeconds);
    if (late) throw badInput(late);
    const order = jobOrder({ jobId: signed.jobId, client: who.address, maxCostWei: holdOf(checked), requestHash: checked.requestHash, expiry, nonce });
    const signer = orderSigner(scope, order, signed.signature);
    if (signer === null || signer !== order.client) {
      throw badInput(`order.signature is not ${order.client}'s signature of this order: sign the typedData prepareJobOrder returned with your wallet, and submit the same input`);
    }
    return { jobId: signed.jobId, clientId: who.accountId, chainId: scope.chainId, escrow: scope.escrow, nonce, maxCostWei: order.maxCost, market: order.market, expiry, signature: signed.signature, digest: jobOrderDigest(scope, order) };
  }
}

/** The hold of a validated submission: what its order allows at most. */
function holdOf(checked: ValidatedJob): bigint {
  return holdWei(checked.req.maxPriceWei!, checked.req.gpuCount, checked.req.maxDurationSeconds, checked.req.redundancy);
}
