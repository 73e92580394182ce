import { Arg, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context";
import { toMarket, toOrderBook } from "../mappers";
import { Market, OrderBook } from "../types/market.type";

@Resolver()
export class MarketResolver {
  @Query(() => [Market], { description: "Every market that has had an offer." })
  async markets(@Ctx() ctx: GraphQLContext): Promise<Market[]> {
    return (await ctx.services.markets.list()).map(toMarket);
  }

  @Query(() => Market, { nullable: true })
  async market(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Market | null> {
    const market = await ctx.services.markets.byId(id);
    return market ? toMarket(market) : null;
  }

  @Query(() => OrderBook, { description: "Aggregated price levels and the sequence of this snapshot (depth 1 to 500, default 20)." })
  async orderBook(
    @Arg("market", () => ID) market: string,
    @Arg("depth", () => Int, { nullable: true }) depth: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<OrderBook> {
    return toOrderBook(await ctx.services.markets.orderBook(market, depth));
  }
}
