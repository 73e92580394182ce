import type { GraphQLSchema } from "graphql";
import { ArtifactResolver, JobDataResolver } from "./resolvers/artifact.resolver";
import { buildSchema, type PubSub } from "type-graphql";
import { guardFreeText } from "./free-text-guard";
import { AuthResolver } from "./resolvers/auth.resolver";
import { SourceResolver } from "./resolvers/source.resolver";
import { AccountChainResolver, ChainResolver, JobSettlementResolver, MeChainResolver, SettlementResolver } from "./resolvers/chain.resolver";
import { AssignmentResolver } from "./resolvers/assignment.resolver";
import { JobResolver } from "./resolvers/job.resolver";
import { MarketFeedResolver, MarketResolver, TradeResolver } from "./resolvers/market.resolver";
import { MeResolver } from "./resolvers/me.resolver";
import { NodeResolver } from "./resolvers/node.resolver";
import { OfferConnectionResolver, OfferResolver } from "./resolvers/offer.resolver";

export const RESOLVERS = [AuthResolver, MeResolver, NodeResolver, OfferResolver, OfferConnectionResolver, MarketResolver, MarketFeedResolver, TradeResolver, JobResolver, AssignmentResolver, ChainResolver, AccountChainResolver, MeChainResolver, SettlementResolver, JobSettlementResolver, SourceResolver, ArtifactResolver, JobDataResolver] as const;

/**
 * Every subscription here brings its own `subscribe` (events from committed state, through Redis, authorized by a
 * service); type-graphql still asks for a topic pub/sub, which nothing uses.
 */
const NO_TOPIC_PUBSUB: PubSub = {
  publish() {
    throw new Error("subscriptions publish through the outbox, not type-graphql topics");
  },
  subscribe() {
    throw new Error("subscriptions subscribe through their own subscribe function");
  },
};

/** The schema, built from the resolvers, its mutations' text guarded (free-text-guard.ts); `npm run schema:emit` writes it to schema.graphql. */
export async function createSchema(): Promise<GraphQLSchema> {
  return guardFreeText(await buildSchema({ resolvers: [...RESOLVERS], validate: false, pubSub: NO_TOPIC_PUBSUB }));
}
