import { Arg, Ctx, ID, Mutation, Resolver } from "type-graphql";
import { BigIntScalar } from "../scalars";
import type { GraphQLContext } from "../context";
import { toApiKey } from "../mappers";
import { ApiKey, AuthChallenge, CreatedApiKey, SessionPayload } from "../types/account.type";

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthChallenge, { description: "An EIP-4361 message with a fresh nonce, to sign with the wallet and pass to signIn." })
  authChallenge(
    @Arg("address") address: string,
    @Arg("chainId", () => BigIntScalar, { nullable: true }) chainId: bigint | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthChallenge> {
    return ctx.services.auth.challenge(address, chainId ?? undefined);
  }

  @Mutation(() => SessionPayload, { description: "Verifies a signed challenge (once) and returns a session token." })
  signIn(@Arg("message") message: string, @Arg("signature") signature: string, @Ctx() ctx: GraphQLContext): Promise<SessionPayload> {
    return ctx.services.auth.signIn(message, signature);
  }

  @Mutation(() => CreatedApiKey, { description: "A new API key for the account, its secret shown once. Needs a wallet session: an API key cannot create keys." })
  async createApiKey(@Arg("name") name: string, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    const { apiKey, secret } = await ctx.services.apiKeys.create(ctx.principal, name);
    return { apiKey: toApiKey(apiKey), secret };
  }

  @Mutation(() => ApiKey, { description: "Revokes one of the account's keys (with a session), or the key making the call (with that key)." })
  async revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    return toApiKey(await ctx.services.apiKeys.revoke(ctx.principal, id));
  }
}
