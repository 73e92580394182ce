import { Ctx, Field, FieldResolver, ObjectType, Query, Resolver, Root } from "type-graphql";
import { requirePrincipal } from "../../services/principal";
import type { GraphQLContext } from "../context";
import { toApiKey } from "../mappers";
import { ApiKey, Reputation } from "../types/account.type";

@ObjectType({ simpleResolvers: true, description: "The signed-in account." })
export class Me {
  @Field() address!: string;
  @Field(() => Reputation, { nullable: true, description: "Null until the reputation formula is released." }) reputation!: Reputation | null;
}

@Resolver(() => Me)
export class MeResolver {
  @Query(() => Me)
  me(@Ctx() ctx: GraphQLContext): Me {
    const who = requirePrincipal(ctx.principal);
    return { address: who.address, reputation: null };
  }

  @FieldResolver(() => [ApiKey])
  async apiKeys(@Root() _me: Me, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    return (await ctx.services.apiKeys.list(ctx.principal)).map(toApiKey);
  }
}
