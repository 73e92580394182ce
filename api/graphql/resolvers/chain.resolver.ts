import { getAddress } from "ethers";
import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";
import { reputationOf } from "../../../matching";
import { requirePrincipal } from "../../services/principal";
import type { GraphQLContext } from "../context";
import { toAccount } from "../mappers";
import { Account } from "../types/account.type";
import type { SettlementView } from "../../services/settlement.service";
import { SettlementStatus } from "../enums";
import { ChainEventConnection, EscrowBalance, IndexerStatus, ReputationProof, Settlement, SettlementConnection, StakeBalance } from "../types/chain.type";
import { LISTED } from "../list-bounds";
import { Job, JobSettlement } from "../types/job.type";
import { Me } from "./me.resolver";
import { SettlementChallenge } from "../types/challenge.type";
import { badInput } from "../../services/errors";
import { BigIntScalar } from "../scalars";
import { SignedOrder } from "../types/order.type";
import { SIGNED_ORDERS_PAGE } from "../../services/job-order.service";

const NEWCOMER = { score: reputationOf({ completed: 0, failed: 0, expired: 0, rejected: 0 }), completedJobs: 0, failedJobs: 0, expiredJobs: 0, rejectedJobs: 0 };

async function escrowOf(ctx: GraphQLContext, accountId: string | null): Promise<EscrowBalance> {
  if (!accountId) return { deposited: 0n, held: 0n, available: 0n, withdrawing: 0n, withdrawableAt: null, debt: 0n };
  const b = await ctx.services.chain.escrowOf(accountId);
  return { deposited: b.depositedWei, held: b.heldWei, available: b.availableWei, withdrawing: b.withdrawingWei, withdrawableAt: b.withdrawUnlockAt, debt: b.debtWei };
}

@Resolver()
export class ChainResolver {
  @Query(() => IndexerStatus, { description: "The chain, the indexer's progress through it, and the contracts it follows." })
  async indexerStatus(@Ctx() ctx: GraphQLContext): Promise<IndexerStatus> {
    return ctx.services.chain.status();
  }

  @Query(() => Account, { description: "Any wallet's standing: escrow, stake, reputation (zeros for a wallet never seen)." })
  async account(@Arg("address") address: string, @Ctx() ctx: GraphQLContext): Promise<Account> {
    const id = await ctx.services.chain.accountIdOf(address);
    const account = id ? await ctx.loaders.account.load(id) : undefined;
    return account ? toAccount(account.address, account.id, account.reputation) : toAccount(getAddress(address), null, NEWCOMER);
  }

  @Query(() => ChainEventConnection, { description: "Mirrored contract events, newest first; with an address, those naming it in any argument." })
  async chainEvents(
    @Arg("address", () => String, { nullable: true }) address: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ChainEventConnection> {
    const page = await ctx.services.chain.events(address, first, after);
    return {
      edges: page.events.map((e, i) => ({ cursor: page.cursors[i], node: e })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }
}

@Resolver()
export class SettlementResolver {
  @Query(() => SettlementConnection, { description: "Settlement batches, newest first." })
  async settlements(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SettlementConnection> {
    const page = await ctx.services.settlements.list(first, after);
    return {
      edges: page.settlements.map((s, i) => ({ cursor: page.cursors[i], node: toSettlement(s) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => [SettlementChallenge], {
    description: "Open challenges of this marketplace's settlement batches, oldest first (at most 100); with creditedTo, those of batches crediting that address (a provider's agent answers them to defend its credit).",
  })
  async settlementChallenges(@Arg("creditedTo", () => String, { nullable: true }) creditedTo: string | null, @Ctx() ctx: GraphQLContext): Promise<SettlementChallenge[]> {
    if (creditedTo !== null && !/^0x[0-9a-fA-F]{40}$/.test(creditedTo)) throw badInput("creditedTo must be a 0x address (40 hex digits)");
    const views = await ctx.services.settlements.challenges(creditedTo, LISTED.challenges);
    return views.map(({ debitWei, ...v }) => ({ ...v, debit: debitWei }));
  }
}

@Resolver(() => Job)
export class JobSettlementResolver {
  @FieldResolver(() => JobSettlement, { nullable: true, description: "The job's line in a settlement batch, once the chain has settled it." })
  async settlement(@Root() job: Job, @Ctx() ctx: GraphQLContext): Promise<JobSettlement | null> {
    const line = await ctx.loaders.settlementOfJob.load(job.id);
    return line ? { batchId: line.batchId, txHash: line.txHash, settledAt: line.confirmedAt, amount: line.amountWei } : null;
  }
}

function toSettlement(s: SettlementView): Settlement {
  return {
    id: s.batchId.toString(),
    batchId: s.batchId,
    status: SettlementStatus[s.status as keyof typeof SettlementStatus],
    jobCount: s.jobCount,
    totalAmount: s.totalAmountWei,
    txHash: s.txHash,
    blockNumber: s.blockNumber,
    gasUsed: s.gasUsed,
    confirmedAt: s.confirmedAt,
    debts: s.debts.slice(0, LISTED.settlementDebts).map((d) => ({ debtId: d.debtId, client: getAddress(d.client), amount: d.amountWei, paid: d.paid })),
  };
}

@Resolver(() => Account)
export class AccountChainResolver {
  @FieldResolver(() => EscrowBalance)
  escrow(@Root() account: Account, @Ctx() ctx: GraphQLContext): Promise<EscrowBalance> {
    return escrowOf(ctx, account.accountId);
  }

  @FieldResolver(() => StakeBalance, { description: "As the Staking contract's events say." })
  stake(@Root() account: Account, @Ctx() ctx: GraphQLContext): Promise<StakeBalance> {
    return stakeOf(ctx, account.accountId);
  }

  @FieldResolver(() => ReputationProof, { nullable: true, description: "The provider's reputation counters as the newest confirmed settlement batch naming it committed them on chain, with the Merkle proof; null when none has." })
  async reputationProof(@Root() account: Account, @Ctx() ctx: GraphQLContext): Promise<ReputationProof | null> {
    const p = await ctx.services.settlements.reputationProof(account.address);
    if (!p) return null;
    const c = p.counters;
    return { batchId: p.batchId, txHash: p.txHash, blockNumber: p.blockNumber, merkleRoot: p.merkleRoot, completedJobs: c.completed, failedJobs: c.failed, expiredJobs: c.expired, rejectedJobs: c.rejected, leaf: p.leaf, proof: p.proof };
  }
}

@Resolver(() => Me)
export class MeChainResolver {
  @FieldResolver(() => EscrowBalance)
  escrow(@Root() _me: Me, @Ctx() ctx: GraphQLContext): Promise<EscrowBalance> {
    return escrowOf(ctx, requirePrincipal(ctx.principal).accountId);
  }

  @FieldResolver(() => StakeBalance, { description: "As the Staking contract's events say." })
  stake(@Root() _me: Me, @Ctx() ctx: GraphQLContext): Promise<StakeBalance> {
    return stakeOf(ctx, requirePrincipal(ctx.principal).accountId);
  }

  @FieldResolver(() => [SignedOrder], {
    description: `Your wallet's signed orders for this marketplace's escrow with a nonce above afterNonce, by nonce (first: default ${SIGNED_ORDERS_PAGE.default}, at most ${SIGNED_ORDERS_PAGE.max}); page on with the last one's nonce. A watchtower reads them (npm run watchtower -- --api).`,
  })
  async signedOrders(
    @Root() _me: Me,
    @Arg("afterNonce", () => BigIntScalar, { nullable: true }) afterNonce: bigint | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SignedOrder[]> {
    const views = await ctx.services.jobOrders.listSigned(ctx.principal, afterNonce, first);
    return views.map((v) => ({ jobId: v.jobId, orderJobId: v.order.jobId, client: v.order.client, chainId: v.chainId, escrow: v.escrow, maxCost: v.order.maxCost, maxCostWei: v.order.maxCost, market: v.order.market, expiry: v.order.expiry, nonce: v.order.nonce, signature: v.signature, digest: v.digest, burned: v.burned }));
  }
}

async function stakeOf(ctx: GraphQLContext, accountId: string | null): Promise<StakeBalance> {
  if (!accountId) return { staked: 0n, unbonding: 0n, slashed: 0n };
  const s = await ctx.services.chain.stakeOf(accountId);
  return { staked: s.stakedWei, unbonding: s.unbondingWei, slashed: s.slashedWei };
}
