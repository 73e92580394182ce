import { TypedDataEncoder, type Signer, type TypedDataDomain } from "ethers";

/** Escrow's EIP-712 order: what a client signs for one job (EscrowChallenge.Order). */
export interface Order {
  /** bytes32, 0x-prefixed. */
  jobId: string;
  client: string;
  /** The most the client pays for the job, in token base units (wei). */
  maxCost: bigint;
  /** bytes32 market id, 0x-prefixed. */
  market: string;
  /** Unix seconds: the order must be settled by then. */
  expiry: bigint;
  /** Used once per client: settlement marks it on chain. */
  nonce: bigint;
}

export const ORDER_TYPES = {
  Order: [
    { name: "jobId", type: "bytes32" },
    { name: "client", type: "address" },
    { name: "maxCost", type: "uint256" },
    { name: "market", type: "bytes32" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "uint256" },
  ],
};

/** The escrow's EIP-712 domain (EscrowChallenge.domainSeparator). */
export function orderDomain(chainId: bigint, escrow: string): TypedDataDomain {
  return { name: "gpu-exchange Escrow", version: "1", chainId, verifyingContract: escrow };
}

/** The EIP-712 digest of `order` (EscrowChallenge.orderHash): a leaf's orderHash. */
export function orderDigest(domain: TypedDataDomain, order: Order): string {
  return TypedDataEncoder.hash(domain, ORDER_TYPES, order);
}

/** The client's wallet signs `order` (eth_signTypedData_v4). */
export async function signOrder(signer: Signer, domain: TypedDataDomain, order: Order): Promise<string> {
  return signer.signTypedData(domain, ORDER_TYPES, order);
}
