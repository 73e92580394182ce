import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({
  simpleResolvers: true,
  description:
    "A provider's reputation: score = (completed + 2) / (completed + failed + expired + 2 x rejected + 4), in [0, 1]; a newcomer starts at 0.5. Matching uses it.",
})
export class Reputation {
  @Field(() => Float) score!: number;
  @Field(() => Int, { description: "Work accepted (for redundant jobs: on the winning side)." }) completedJobs!: number;
  @Field(() => Int, { description: "Work the provider gave up." }) failedJobs!: number;
  @Field(() => Int, { description: "Work whose lease lapsed (the agent went away)." }) expiredJobs!: number;
  @Field(() => Int, { description: "Results outvoted by the majority." }) rejectedJobs!: number;
  @Field(() => Int, { description: "Same as rejectedJobs." }) disputedJobs!: number;
}

@ObjectType({ simpleResolvers: true, description: "An API key as listed: the secret is shown once, at creation, and never again." })
export class ApiKey {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: "The secret's first characters, to tell keys apart." }) prefix!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class CreatedApiKey {
  @Field(() => ApiKey) apiKey!: ApiKey;
  @Field({ description: "The whole secret: shown this once. Send it as Authorization: Bearer <secret>." }) secret!: string;
}

@ObjectType({ simpleResolvers: true, description: "A wallet's account on the marketplace." })
export class Account {
  @Field({ description: "EIP-55 checksummed address." }) address!: string;
  accountId!: string | null;
  @Field(() => Reputation, { nullable: true }) reputation!: Reputation | null;
}

@ObjectType({ simpleResolvers: true })
export class AuthChallenge {
  @Field({ description: "The EIP-4361 message to sign with personal_sign, unchanged." }) message!: string;
  @Field() nonce!: string;
  @Field() expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class SessionPayload {
  @Field({ description: "Send as Authorization: Bearer <token> (or connectionParams.authorization over WebSocket)." }) token!: string;
  @Field() address!: string;
  @Field() expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class Region {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => Float) latitude!: number;
  @Field(() => Float) longitude!: number;
}

