import type { ExchangeClient } from "./client";
import { PrepareJobOrderDocument, type PrepareJobOrderMutation, type SubmitJobInput } from "./generated/graphql";

/** What signs EIP-712 typed data (eth_signTypedData_v4): an ethers Signer, or a wallet behind it. */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(domain: Record<string, unknown>, types: Record<string, { name: string; type: string }[]>, message: Record<string, unknown>): Promise<string>;
}

/** The order prepareJobOrder returned. */
export type JobOrderDraft = PrepareJobOrderMutation["prepareJobOrder"];

/** What the caller knows of the escrow beforehand (from its own configuration, not from the API it signs for). */
export interface ExpectedDomain {
  chainId?: bigint;
  escrow?: string;
}

/**
 * `input` with the job's order signed by `signer` (the wallet the client is signed in as): asks the API for the
 * order (prepareJobOrder: a job id, the next nonce, the hold as maxCost), checks that the typed data is an order of
 * this signer for the draft's job (and, with `expected`, for that chain and escrow), signs it, and returns the input
 * for submitJob with `order` set, the draft, and the signed message's maxCost in wei (what the signature allows at
 * most: show it to the user). Submit the same input: another input does not match the signature (BAD_USER_INPUT).
 */
export async function signedJobInput(
  client: ExchangeClient,
  input: SubmitJobInput,
  signer: TypedDataSigner,
  expected: ExpectedDomain = {},
): Promise<{ input: SubmitJobInput; draft: JobOrderDraft; maxCostWei: bigint }> {
  const { prepareJobOrder: draft } = await client.request(PrepareJobOrderDocument, { input });
  const address = (await signer.getAddress()).toLowerCase();
  const typed = JSON.parse(draft.typedData) as { primaryType: string; domain: Record<string, unknown>; types: Record<string, { name: string; type: string }[]>; message: Record<string, unknown> };
  const message = typed.message as { jobId?: string; client?: string; maxCost?: string; nonce?: string; expiry?: string };
  const problems = [
    typed.primaryType !== "Order" && "it is not an Order",
    String(message.client).toLowerCase() !== address && `it is ${message.client}'s, the signer is ${address}`,
    message.jobId !== `0x${draft.jobId.replace(/-/g, "").padEnd(64, "0")}` && "its jobId is not the draft's",
    (message.nonce !== draft.nonce || message.expiry !== draft.expiry) && "its nonce or expiry is not the draft's",
    message.maxCost === undefined && "it names no maxCost",
    expected.chainId !== undefined && BigInt(String(typed.domain.chainId)) !== expected.chainId && `it is for chain ${BigInt(String(typed.domain.chainId))}`,
    expected.escrow !== undefined && String(typed.domain.verifyingContract).toLowerCase() !== expected.escrow.toLowerCase() && `it is for escrow ${String(typed.domain.verifyingContract)}`,
  ].filter((p): p is string => typeof p === "string");
  if (problems.length > 0) throw new Error(`signedJobInput: the API's order is not one to sign: ${problems.join("; ")}`);
  const { EIP712Domain: _domain, ...types } = typed.types;
  const signature = await signer.signTypedData(typed.domain, types, typed.message);
  return { input: { ...input, order: { jobId: draft.jobId, nonce: draft.nonce, expiry: draft.expiry, signature } }, draft, maxCostWei: BigInt(message.maxCost!) };
}
