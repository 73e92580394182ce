import { Ctx, Field, FieldResolver, ObjectType, Query, Resolver, Root } from "type-graphql";
import { requirePrincipal } from "../../services/principal";
import type { GraphQLContext } from "../context";
import { firstOf, LISTED } from "../list-bounds";
import { toApiKey, toReputation } from "../mappers";
import { ApiKey, Reputation } from "../types/account.type";

@ObjectType({ simpleResolvers: true, description: "The signed-in account." })
export class Me {
  @Field() address!: string;
}

@Resolver(() => Me)
export class MeResolver {
  @Query(() => Me)
  me(@Ctx() ctx: GraphQLContext): Me {
    const who = requirePrincipal(ctx.principal);
    return { address: who.address };
  }

  @FieldResolver(() => Reputation, { description: "As a provider." })
  async reputation(@Root() _me: Me, @Ctx() ctx: GraphQLContext): Promise<Reputation> {
    const who = requirePrincipal(ctx.principal);
    const account = await ctx.loaders.account.load(who.accountId);
    if (!account) throw new Error(`account ${who.accountId} is gone`);
    return toReputation(account.reputation);
  }

  @FieldResolver(() => [ApiKey], { description: `Live keys, then revoked ones, newest first (the first ${LISTED.apiKeys}).` })
  async apiKeys(@Root() _me: Me, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    const keys = await ctx.services.apiKeys.list(ctx.principal);
    return firstOf([...keys.filter((k) => !k.revokedAt), ...keys.filter((k) => k.revokedAt)], LISTED.apiKeys).map(toApiKey);
  }
}
