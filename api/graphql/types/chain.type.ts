import { GraphQLJSONObject } from "graphql-scalars";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { SettlementStatus } from "../enums";
import { BigIntScalar, DecimalScalar } from "../scalars";
import { PageInfo } from "./offer.type";

@ObjectType({ simpleResolvers: true, description: "OGPU in escrow, as the chain says (deposits less withdrawals) and the marketplace holds." })
export class EscrowBalance {
  @Field(() => DecimalScalar, { description: "Deposited less withdrawn, from the chain's events." }) deposited!: bigint;
  @Field(() => DecimalScalar, { description: "Held for jobs not yet ended." }) held!: bigint;
  @Field(() => DecimalScalar, { description: "What a new job can hold: deposited less withdrawing less held less charged." }) available!: bigint;
  @Field(() => DecimalScalar, {
    description: "Asked back with Escrow.requestWithdraw and not yet withdrawn: no longer available to new jobs, and jobs it leaves unbacked wait.",
  })
  withdrawing!: bigint;
  @Field(() => Date, { nullable: true, description: "When Escrow.withdraw() may take the pending request (it pays at most balance - held - debt then); null when none is pending." })
  withdrawableAt!: Date | null;
  @Field(() => DecimalScalar, { description: "Owed on chain for settled work the balance did not cover (Escrow.debtOf); paid from the next deposits." }) debt!: bigint;
}

@ObjectType({ simpleResolvers: true })
export class StakeBalance {
  @Field(() => DecimalScalar) staked!: bigint;
  @Field(() => DecimalScalar) unbonding!: bigint;
  @Field(() => DecimalScalar) slashed!: bigint;
}

@ObjectType({ simpleResolvers: true })
export class ContractAddress {
  @Field() name!: string;
  @Field() address!: string;
}

@ObjectType({ simpleResolvers: true })
export class IndexerStatus {
  @Field(() => BigIntScalar) chainId!: bigint;
  @Field(() => BigIntScalar, { nullable: true }) headBlock!: bigint | null;
  @Field(() => BigIntScalar, { nullable: true }) indexedBlock!: bigint | null;
  @Field(() => BigIntScalar, { nullable: true }) finalizedBlock!: bigint | null;
  @Field(() => BigIntScalar, { nullable: true }) lagBlocks!: bigint | null;
  @Field(() => [ContractAddress]) contracts!: ContractAddress[];
  @Field(() => Boolean, { nullable: true, description: "Whether the chain node answered this server's last call; null when this server does not call it." })
  chainReachable!: boolean | null;
  @Field(() => Date, { nullable: true, description: "Since when the chain node has not answered; null while it answers." }) chainUnreachableSince!: Date | null;
  @Field(() => String, { nullable: true, description: "Why the chain node's last call failed, while it does not answer." }) chainError!: string | null;
  @Field(() => Date, { nullable: true, description: "When headBlock was read from the node." }) headSeenAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class ChainEventNode {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: "The emitting contract." }) address!: string;
  @Field(() => BigIntScalar) blockNumber!: bigint;
  @Field() txHash!: string;
  @Field(() => Int) logIndex!: number;
  @Field({ description: "At or below the finalized block (or enough confirmations)." }) final!: boolean;
  @Field(() => GraphQLJSONObject, { description: "Keyed by the ABI's parameter names; integers as decimal strings." }) args!: Record<string, unknown>;
}

@ObjectType({ simpleResolvers: true })
export class ChainEventEdge {
  @Field() cursor!: string;
  @Field(() => ChainEventNode) node!: ChainEventNode;
}

@ObjectType({ simpleResolvers: true })
export class ChainEventConnection {
  @Field(() => [ChainEventEdge]) edges!: ChainEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: "A client's line of a batch that its escrow could not cover: a debt on chain; its providers are paid when it is paid." })
export class SettlementDebt {
  @Field(() => BigIntScalar, { description: "Escrow's debt id (DebtRecorded)." }) debtId!: bigint;
  @Field() client!: string;
  @Field(() => DecimalScalar, { description: "What the client owes for the line (OGPU)." }) amount!: bigint;
  @Field({ description: "Whether Escrow.payDebt has paid it." }) paid!: boolean;
}

@ObjectType({ simpleResolvers: true, description: "A batch of completed work paid in one Escrow.settle transaction." })
export class Settlement {
  @Field(() => ID) id!: string;
  @Field(() => BigIntScalar) batchId!: bigint;
  @Field(() => SettlementStatus) status!: SettlementStatus;
  @Field(() => Int) jobCount!: number;
  @Field(() => DecimalScalar, { description: "What clients paid in this batch (OGPU)." }) totalAmount!: bigint;
  @Field(() => String, { nullable: true }) txHash!: string | null;
  @Field(() => BigIntScalar, { nullable: true }) blockNumber!: bigint | null;
  @Field(() => BigIntScalar, { nullable: true }) gasUsed!: bigint | null;
  @Field(() => Date, { nullable: true }) confirmedAt!: Date | null;
  @Field(() => [SettlementDebt], { description: "Lines of the batch whose client could not pay: debts on chain instead of a failed batch (the first 100 by debt id)." })
  debts!: SettlementDebt[];
}

@ObjectType({ simpleResolvers: true })
export class SettlementEdge {
  @Field() cursor!: string;
  @Field(() => Settlement) node!: Settlement;
}

@ObjectType({ simpleResolvers: true })
export class SettlementConnection {
  @Field(() => [SettlementEdge]) edges!: SettlementEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({
  simpleResolvers: true,
  description:
    "A provider's reputation counters as a settlement batch committed them on chain: the batch's Merkle tree holds, beside its job leaves, one leaf per provider, keccak256(abi.encode(keccak256(\"gpu-exchange.reputation.v1\"), provider, completed, failed, expired, rejected)). Check it with OpenZeppelin's MerkleProof (sorted pairs) against the merkleRoot of the batch's BatchSettled event.",
})
export class ReputationProof {
  @Field(() => BigIntScalar) batchId!: bigint;
  @Field(() => String, { nullable: true }) txHash!: string | null;
  @Field(() => BigIntScalar, { nullable: true }) blockNumber!: bigint | null;
  @Field({ description: "The batch's root, as BatchSettled says on chain." }) merkleRoot!: string;
  @Field(() => Int) completedJobs!: number;
  @Field(() => Int) failedJobs!: number;
  @Field(() => Int) expiredJobs!: number;
  @Field(() => Int) rejectedJobs!: number;
  @Field({ description: "The provider's leaf." }) leaf!: string;
  @Field(() => [String], { description: "Sibling hashes from the leaf up to the root." }) proof!: string[];
}
