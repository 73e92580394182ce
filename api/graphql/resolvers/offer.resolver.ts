import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { notFound } from "../../services/errors";
import type { GraphQLContext } from "../context";
import { selectsField } from "../selection";
import { OfferFilter, PostOfferInput, UpdateOfferInput } from "../inputs/offer.input";
import { toAccount, toNode, toOffer } from "../mappers";
import { Account } from "../types/account.type";
import { Node } from "../types/node.type";
import { Offer, OfferConnection } from "../types/offer.type";

@Resolver(() => Offer)
export class OfferResolver {
  @Mutation(() => Offer)
  async postOffer(@Arg("input") input: PostOfferInput, @Ctx() ctx: GraphQLContext): Promise<Offer> {
    return toOffer(await ctx.services.offers.post(ctx.principal, { ...input, priceWei: input.pricePerGpuHour }));
  }

  @Mutation(() => Offer, { description: "Reprices and/or resizes an open offer." })
  async updateOffer(@Arg("id", () => ID) id: string, @Arg("input") input: UpdateOfferInput, @Ctx() ctx: GraphQLContext): Promise<Offer> {
    return toOffer(await ctx.services.offers.update(ctx.principal, id, { ...input, priceWei: input.pricePerGpuHour }));
  }

  @Mutation(() => Offer)
  async cancelOffer(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Offer> {
    return toOffer(await ctx.services.offers.cancel(ctx.principal, id));
  }

  @Query(() => OfferConnection, { description: "Offers, cheapest first then oldest; OPEN ones unless filter.status says otherwise." })
  async offers(
    @Arg("filter", () => OfferFilter, { nullable: true }) filter: OfferFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<OfferConnection> {
    const now = new Date();
    ctx.cacheReads.push(ctx.services.offerLists.watch(filter?.market ?? undefined, ctx.principal !== undefined));
    const page = await ctx.services.offers.list(
      {
        market: filter?.market ?? undefined,
        minVramGb: filter?.minVramGb ?? undefined,
        maxPriceWei: filter?.maxPricePerGpuHour ?? undefined,
        region: filter?.region ?? undefined,
        status: filter?.status ?? undefined,
      },
      first,
      after,
      { withCount: selectsField(info, "totalCount"), now },
    );
    for (const node of page.nodes) ctx.loaders.node.prime(node.id, node);
    for (const account of page.providers) ctx.loaders.account.prime(account.id, account);
    return {
      edges: page.offers.map((o, i) => ({ cursor: page.cursors[i], node: toOffer(o, now) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
      countTotal: page.totalCount,
    };
  }

  @FieldResolver(() => Node)
  async node(@Root() offer: Offer, @Ctx() ctx: GraphQLContext): Promise<Node> {
    const node = await ctx.loaders.node.load(offer.nodeId);
    if (!node) throw notFound("node", offer.nodeId);
    return toNode(node, ctx.services.nodes.statusOf(node));
  }

  @FieldResolver(() => Account)
  async provider(@Root() offer: Offer, @Ctx() ctx: GraphQLContext): Promise<Account> {
    const account = await ctx.loaders.account.load(offer.providerId);
    if (!account) throw notFound("account", offer.providerId);
    return toAccount(account.address, account.id, account.reputation);
  }
}

@Resolver(() => OfferConnection)
export class OfferConnectionResolver {
  @FieldResolver(() => Int, { description: "All offers matching the filter." })
  totalCount(@Root() connection: OfferConnection): Promise<number> {
    return connection.countTotal();
  }
}
