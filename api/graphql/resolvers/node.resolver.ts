import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { REGIONS } from "../../../matching";
import { badInput, notFound } from "../../services/errors";
import type { GraphQLContext } from "../context";
import { OfferStatus } from "../enums";
import { firstOf, LISTED } from "../list-bounds";
import { NodeMetricsInput, RegisterNodeInput } from "../inputs/node.input";
import { toAccount, toNode, toOffer } from "../mappers";
import { Account, Region } from "../types/account.type";
import { HeartbeatPayload, Node, NodeEarnings } from "../types/node.type";
import { Offer } from "../types/offer.type";

@Resolver(() => Node)
export class NodeResolver {
  @Query(() => [Region], { description: "The fixed list of regions, with the coordinates latency is estimated from." })
  regions(): Region[] {
    return REGIONS.map((r) => ({ ...r }));
  }

  @Mutation(() => Node, { description: "Registers a node, or updates the caller's node of the same name." })
  async registerNode(@Arg("input") input: RegisterNodeInput, @Ctx() ctx: GraphQLContext): Promise<Node> {
    const node = await ctx.services.nodes.register(ctx.principal, input);
    return toNode(node, ctx.services.nodes.statusOf(node));
  }

  @Mutation(() => HeartbeatPayload)
  async heartbeat(
    @Arg("nodeId", () => ID) nodeId: string,
    @Arg("metrics", () => NodeMetricsInput, { nullable: true }) metrics: NodeMetricsInput | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<HeartbeatPayload> {
    const node = await ctx.services.nodes.heartbeat(ctx.principal, nodeId, metrics ?? undefined);
    const serverTime = new Date();
    return { nodeId: node.id, status: ctx.services.nodes.statusOf(node, serverTime) as HeartbeatPayload["status"], serverTime };
  }

  @Query(() => [Node], { description: `Your nodes, oldest first (the first ${LISTED.nodes}).` })
  async myNodes(@Ctx() ctx: GraphQLContext): Promise<Node[]> {
    const now = new Date();
    return firstOf(await ctx.services.nodes.mine(ctx.principal), LISTED.nodes).map((n) => toNode(n, ctx.services.nodes.statusOf(n, now)));
  }

  @FieldResolver(() => [Offer], { description: `The node's offers, oldest first: the first \`first\` (default ${LISTED.nodeOffersDefault}, 1 to ${LISTED.nodeOffers}).` })
  async offers(
    @Root() node: Node,
    @Arg("status", () => OfferStatus, { nullable: true }) status: OfferStatus | null,
    @Arg("first", () => Int, { defaultValue: LISTED.nodeOffersDefault }) first: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Offer[]> {
    if (!Number.isInteger(first) || first < 1 || first > LISTED.nodeOffers) throw badInput(`first must be from 1 to ${LISTED.nodeOffers}, got ${first}`);
    return firstOf(await ctx.services.offers.byNode([node.id], status ?? undefined), first).map((o) => toOffer(o));
  }

  @FieldResolver(() => NodeEarnings, {
    nullable: true,
    description: "What this node's work earned its provider, in OGPU: settled (in batches the chain confirmed; claimable there) and pending. Only its provider sees it (null for others).",
  })
  async earnings(@Root() node: Node, @Ctx() ctx: GraphQLContext): Promise<NodeEarnings | null> {
    return (await ctx.services.nodes.earnings(ctx.principal, node)) ?? null;
  }

  @FieldResolver(() => Account)
  async provider(@Root() node: Node, @Ctx() ctx: GraphQLContext): Promise<Account> {
    const account = await ctx.loaders.account.load(node.providerId);
    if (!account) throw notFound("account", node.providerId);
    return toAccount(account.address, account.id, account.reputation);
  }
}
