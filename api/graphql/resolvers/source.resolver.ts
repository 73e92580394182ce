import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { SourceRecord } from "../../services/source.service";
import { notFound } from "../../services/errors";
import type { GraphQLContext } from "../context";
import { JobKind } from "../enums";
import { toAccount } from "../mappers";
import { Account } from "../types/account.type";
import { PublishSourceInput, Source, SourceConnection } from "../types/source.type";

function toSource(s: SourceRecord): Source {
  // a source is public: its env defaults are never secret
  return { ...s, kind: JobKind[s.kind], ownerId: s.ownerId, env: s.env?.map((e) => ({ name: e.name, value: e.value, secret: false })) ?? null };
}

@Resolver(() => Source)
export class SourceResolver {
  @Mutation(() => Source, { description: "Publishes a workload source; the same name again makes its next version." })
  async publishSource(@Arg("input") input: PublishSourceInput, @Ctx() ctx: GraphQLContext): Promise<Source> {
    return toSource(await ctx.services.sources.publish(ctx.principal, input));
  }

  @Query(() => SourceConnection, { description: "Published sources, every version, newest first." })
  async sources(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SourceConnection> {
    const page = await ctx.services.sources.list(first, after);
    return {
      edges: page.sources.map((s, i) => ({ cursor: page.cursors[i], node: toSource(s) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @FieldResolver(() => Account)
  async owner(@Root() source: Source, @Ctx() ctx: GraphQLContext): Promise<Account> {
    const account = await ctx.loaders.account.load(source.ownerId);
    if (!account) throw notFound("account", source.ownerId);
    return toAccount(account.address, account.id, account.reputation);
  }
}
