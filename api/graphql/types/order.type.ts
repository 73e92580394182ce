import { Field, ID, ObjectType } from "type-graphql";
import { BigIntScalar, DecimalScalar } from "../scalars";

@ObjectType({
  simpleResolvers: true,
  description:
    "A job's order for the client's wallet to sign (Escrow's EIP-712 Order): settlement can take no more than maxCost for the job, and a challenge of a batch is answered with it. Sign typedData (eth_signTypedData_v4), then submitJob with the same input and order { jobId nonce expiry signature }.",
})
export class JobOrderDraft {
  @Field(() => ID, { description: "The id the job will have." }) jobId!: string;
  @Field({ description: "The signing wallet: your account's address." }) client!: string;
  @Field(() => BigIntScalar) chainId!: bigint;
  @Field({ description: "The escrow contract (the domain's verifyingContract)." }) escrow!: string;
  @Field(() => DecimalScalar, { description: "The job's hold, OGPU: the most all of its runs may cost." }) maxCost!: bigint;
  @Field(() => BigIntScalar, { description: "maxCost in wei, as the order says it." }) maxCostWei!: bigint;
  @Field({ description: "bytes32: the job's request hash (its workload and requirements), so the order is for exactly this input." }) market!: string;
  @Field(() => BigIntScalar, { description: "Unix seconds: the job's settlement must happen by then." }) expiry!: bigint;
  @Field(() => BigIntScalar, { description: "Your next order nonce: each is used once." }) nonce!: bigint;
  @Field({ description: "The order's EIP-712 digest (the settled leaf's orderHash)." }) digest!: string;
  @Field({ description: "The EIP-712 typed data as JSON, for eth_signTypedData_v4 (integers as decimal strings)." }) typedData!: string;
}

@ObjectType({
  simpleResolvers: true,
  description:
    "An order the signed-in client's wallet signed (Escrow's EIP-712 Order) and this marketplace stored with its job: what a watchtower checks batch entries against (verify the signature yourself: the API can withhold an order, never forge one).",
})
export class SignedOrder {
  @Field(() => ID, { description: "The job's id." }) jobId!: string;
  @Field({ description: "bytes32: the order's jobId (the UUID's 16 bytes, left-aligned)." }) orderJobId!: string;
  @Field({ description: "The signing wallet." }) client!: string;
  @Field(() => BigIntScalar) chainId!: bigint;
  @Field({ description: "The escrow contract (the domain's verifyingContract)." }) escrow!: string;
  @Field(() => DecimalScalar, { description: "OGPU: the most settlement may take for the job." }) maxCost!: bigint;
  @Field(() => BigIntScalar, { description: "maxCost in wei, as the order says it." }) maxCostWei!: bigint;
  @Field({ description: "bytes32: the job's request hash." }) market!: string;
  @Field(() => BigIntScalar, { description: "Unix seconds." }) expiry!: bigint;
  @Field(() => BigIntScalar) nonce!: bigint;
  @Field({ description: "The wallet's 65-byte signature (eth_signTypedData_v4)." }) signature!: string;
  @Field({ description: "The order's EIP-712 digest (a settled leaf's orderHash)." }) digest!: string;
  @Field({ description: "Its nonce was marked by a batch this marketplace did not send; the job's charges settled without it." }) burned!: boolean;
}
