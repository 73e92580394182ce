import { Field, Int, ObjectType } from "type-graphql";
import { BigIntScalar, DecimalScalar } from "../scalars";

@ObjectType({
  simpleResolvers: true,
  description:
    "An open challenge of a client entry of one of this marketplace's settlement batches (Escrow.challenge), and the answer anyone may send: the clients' signed orders with their Merkle proofs (Escrow.answer). An answered challenge is rejected and the batch's credits are paid after the window; one nobody answers by its deadline is upheld.",
})
export class SettlementChallenge {
  @Field(() => BigIntScalar) batchId!: bigint;
  @Field(() => Int, { description: "The challenged entry's index in the batch's clients." }) clientIndex!: number;
  @Field() client!: string;
  @Field(() => BigIntScalar, { description: "Unix seconds: the last moment an answer is taken." }) deadline!: bigint;
  @Field({ description: "The escrow to send the answer to." }) escrow!: string;
  @Field(() => DecimalScalar, { nullable: true, description: "The entry's debit, in OGPU (null for a batch this marketplace did not send)." }) debit!: bigint | null;
  @Field(() => String, { nullable: true, description: "Escrow.answer's calldata: send it as a transaction's data to `escrow`. Null when the stored orders cannot answer (see `unanswerable`)." })
  answerCalldata!: string | null;
  @Field(() => Int, { description: "How many signed orders the answer posts." }) answerOrders!: number;
  @Field(() => String, { nullable: true, description: "Why the marketplace cannot answer it, when it cannot." }) unanswerable!: string | null;
}
