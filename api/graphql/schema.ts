import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AuthResolver } from "./resolvers/auth.resolver";
import { AssignmentResolver, JobResolver } from "./resolvers/job.resolver";
import { MarketResolver, TradeResolver } from "./resolvers/market.resolver";
import { MeResolver } from "./resolvers/me.resolver";
import { NodeResolver } from "./resolvers/node.resolver";
import { OfferConnectionResolver, OfferResolver } from "./resolvers/offer.resolver";

export const RESOLVERS = [AuthResolver, MeResolver, NodeResolver, OfferResolver, OfferConnectionResolver, MarketResolver, TradeResolver, JobResolver, AssignmentResolver] as const;

/** The schema, built from the resolvers; `npm run schema:emit` writes it to schema.graphql. */
export function createSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: [...RESOLVERS], validate: false });
}
