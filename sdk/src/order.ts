import type { ExchangeClient } from "./client";
import { PrepareJobOrderDocument, type PrepareJobOrderMutation, type SubmitJobInput } from "./generated/graphql";

/** What signs EIP-712 typed data (eth_signTypedData_v4): an ethers Signer, or a wallet behind it. */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(domain: Record<string, unknown>, types: Record<string, { name: string; type: string }[]>, message: Record<string, unknown>): Promise<string>;
}

/** The order prepareJobOrder returned. */
export type JobOrderDraft = PrepareJobOrderMutation["prepareJobOrder"];

/**
 * `input` with the job's order signed by `signer` (the wallet the client is signed in as): asks the API for the
 * order (prepareJobOrder: a job id, the next nonce, the hold as maxCost), checks it is the signer's, signs its typed
 * data, and returns the input for submitJob with `order` set, and the draft. Submit the same input: another input
 * does not match the signature (BAD_USER_INPUT).
 */
export async function signedJobInput(client: ExchangeClient, input: SubmitJobInput, signer: TypedDataSigner): Promise<{ input: SubmitJobInput; draft: JobOrderDraft }> {
  const { prepareJobOrder: draft } = await client.request(PrepareJobOrderDocument, { input });
  const address = await signer.getAddress();
  if (draft.client.toLowerCase() !== address.toLowerCase()) throw new Error(`signedJobInput: the order is ${draft.client}'s but the signer is ${address}; sign in with the same wallet`);
  const typed = JSON.parse(draft.typedData) as { domain: Record<string, unknown>; types: Record<string, { name: string; type: string }[]>; message: Record<string, unknown> };
  const { EIP712Domain: _domain, ...types } = typed.types;
  const signature = await signer.signTypedData(typed.domain, types, typed.message);
  return { input: { ...input, order: { jobId: draft.jobId, nonce: draft.nonce, expiry: draft.expiry, signature } }, draft };
}
