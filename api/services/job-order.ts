import { TypedDataEncoder, getAddress, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import { ORDER_TYPES, orderDigest, orderDomain, type Order } from "../../contracts/orders";
import { jobIdBytes32 } from "../db/repositories/settlement.repository";

/** A submitJob's order as the client sends it back, signed. */
export interface SignedOrderData {
  jobId: string;
  nonce: string;
  expiry: string;
  signature: string;
}

/** The chain and escrow an order is signed for (its EIP-712 domain). */
export interface OrderScope {
  chainId: bigint;
  escrow: string;
}

/** What a job's order says, from the API's side. */
export interface OrderTerms {
  /** The job's id (a UUID), chosen before the job exists. */
  jobId: string;
  client: string;
  /** The job's hold: the most all of its runs may cost. */
  maxCostWei: bigint;
  /** The job's request hash (64 hex digits): the order binds the exact workload and requirements. */
  requestHash: string;
  /** Unix seconds: settlement must happen by then. */
  expiry: bigint;
  nonce: bigint;
}

/** Escrow's Order for `t`: jobId is the UUID's 16 bytes left-aligned in bytes32, market the request hash. */
export function jobOrder(t: OrderTerms): Order {
  return { jobId: jobIdBytes32(t.jobId), client: getAddress(t.client), maxCost: t.maxCostWei, market: `0x${t.requestHash}`, expiry: t.expiry, nonce: t.nonce };
}

/** The order's EIP-712 digest in `scope`: what the client's wallet signs, and a settled leaf's orderHash. */
export function jobOrderDigest(scope: OrderScope, order: Order): string {
  return orderDigest(orderDomain(scope.chainId, scope.escrow), order);
}

/** The eth_signTypedData_v4 JSON of `order` (types with EIP712Domain, domain, primaryType, message; integers as strings). */
export function typedDataJson(scope: OrderScope, order: Order): string {
  return JSON.stringify(TypedDataEncoder.getPayload(orderDomain(scope.chainId, scope.escrow), ORDER_TYPES, order));
}

/** The address whose key signed `order` with `signature` (65-byte ECDSA), or null when the signature is malformed. */
export function orderSigner(scope: OrderScope, order: Order, signature: string): string | null {
  try {
    return getAddress(verifyTypedData(orderDomain(scope.chainId, scope.escrow), ORDER_TYPES, order, signature));
  } catch {
    return null;
  }
}

/**
 * Why an order's expiry cannot carry its job (null when it can): settlement must happen by the expiry, so it must
 * leave the job's whole run and the time to settle after `now` (unix seconds), and fit the contract's uint64.
 */
export function expiryProblem(expiry: bigint, now: bigint, maxDurationSeconds: number, settleMarginSeconds: number): string | null {
  if (expiry >= 1n << 63n) return "order.expiry is beyond what can be stored (unix seconds below 2^63)";
  const needed = now + BigInt(maxDurationSeconds) + BigInt(settleMarginSeconds);
  if (expiry < needed) return `order.expiry ${expiry} leaves too little time: the job may run ${maxDurationSeconds} s and settlement takes up to ${settleMarginSeconds} s more, so it must be at least ${needed}; prepare a new order`;
  return null;
}

/**
 * Which of a client's waiting unsigned jobs (newest first) its allowance no longer backs: `leftWei` is the allowance
 * less all of the client's unsigned work (these jobs' holds included), so while it is short the newest go, each
 * giving back its hold, until the rest fits; and any whose run and settlement (`settleMarginSeconds`) would end after
 * the allowance's `until` (unix seconds) goes whatever is left.
 */
export function uncoveredJobs<J extends { jobId: string; holdWei: bigint; maxDurationSeconds: number }>(newestFirst: readonly J[], allowance: { leftWei: bigint; until: bigint }, nowSeconds: bigint, settleMarginSeconds: number): string[] {
  const out: string[] = [];
  let short = -allowance.leftWei;
  for (const j of newestFirst) {
    const tooLate = allowance.until < nowSeconds + BigInt(j.maxDurationSeconds + settleMarginSeconds);
    if (short <= 0n && !tooLate) continue;
    out.push(j.jobId);
    short -= j.holdWei;
  }
  return out;
}

/** What signs EIP-712 typed data with one key (an ethers Signer: a Wallet, a key file's, a remote signer's). */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string>;
}

/** A prepared order (prepareJobOrder's draft) signed by `signer`, in the form submitJob takes it. */
export async function signDraft(draft: { jobId: string; nonce: bigint; expiry: bigint; typedData: string }, signer: TypedDataSigner): Promise<SignedOrderData> {
  const { domain, types, message } = JSON.parse(draft.typedData) as { domain: TypedDataDomain; types: Record<string, TypedDataField[]>; message: Record<string, unknown> };
  const { EIP712Domain: _domainType, ...orderTypes } = types;
  return { jobId: draft.jobId, nonce: draft.nonce.toString(), expiry: draft.expiry.toString(), signature: await signer.signTypedData(domain, orderTypes, message) };
}
