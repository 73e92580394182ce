import { Field, ID, Int, ObjectType } from "type-graphql";
import { DecimalScalar } from "../scalars";
import { OfferStatus } from "../enums";
import { MIN_DURATION } from "../inputs/offer.input";

@ObjectType({ simpleResolvers: true, description: "GPUs of one market on one node, for sale at a price per GPU-hour." })
export class Offer {
  @Field(() => ID) id!: string;
  @Field(() => ID) market!: string;
  @Field() gpuModel!: string;
  @Field(() => Int) vramGb!: number;
  @Field() region!: string;
  @Field(() => DecimalScalar, { description: "OGPU per GPU-hour." }) pricePerGpuHour!: bigint;
  @Field(() => Int) gpuCount!: number;
  @Field(() => Int, { description: "GPUs not in use; what the book shows." }) availableGpus!: number;
  @Field(() => Int, { nullable: true, description: MIN_DURATION }) minDurationSeconds!: number | null;
  @Field(() => OfferStatus) status!: OfferStatus;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
  @Field(() => String, { nullable: true, description: "Your own id for the offer, unique among your open offers." }) clientOrderId!: string | null;
  @Field({ description: "Posted post-only: it was refused had it matched a resting job at once." }) postOnly!: boolean;
  @Field({ description: "Withdrawn from the book while its node is offline (heartbeats stopped), back when it returns." }) cancelOnDisconnect!: boolean;
  @Field({ description: "Off the book now: its node is offline and the offer is cancel-on-disconnect. It is still OPEN and comes back with the node." }) withdrawn!: boolean;
  nodeId!: string;
  providerId!: string;
}

@ObjectType({ simpleResolvers: true })
export class OfferEdge {
  @Field() cursor!: string;
  @Field(() => Offer) node!: Offer;
}

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class OfferConnection {
  @Field(() => [OfferEdge]) edges!: OfferEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  countTotal!: () => Promise<number>;
}
