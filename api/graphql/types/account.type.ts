import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({ simpleResolvers: true, description: "A score in [0, 1] and the work behind it (filled by the reputation formula of a later release)." })
export class Reputation {
  @Field(() => Float) score!: number;
  @Field(() => Int) completedJobs!: number;
  @Field(() => Int) failedJobs!: number;
  @Field(() => Int) disputedJobs!: number;
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
  @Field(() => Reputation, { nullable: true, description: "Null until the reputation formula is released." }) reputation!: Reputation | null;
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

