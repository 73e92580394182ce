import { getAddress } from "ethers";
import type { DataSource } from "typeorm";
import type { ChainHealthView } from "../../indexer";
import { escrowBalance, type EscrowBalance } from "../db/repositories/escrow.repository";
import { accountIdOfAddress, chainCursorOf, chainEventsPage, stakeOfAccount } from "../db/repositories/chain-read.repository";
import { badInput } from "./errors";
import { decodeOrdinalCursor, ordinalCursor, pageSize } from "./paging";

export interface ChainSettings {
  chainId: bigint;
  contracts: { name: string; address: string }[];
  /** The chain's head as the indexer last saw it (undefined without an indexer in this process). */
  head: () => bigint | undefined;
  /** The chain node as this process's calls found it (the indexer's, or a monitor's in an API-only process). */
  health?: () => ChainHealthView | undefined;
}

export interface IndexerStatusView {
  chainId: bigint;
  headBlock: bigint | null;
  indexedBlock: bigint | null;
  finalizedBlock: bigint | null;
  lagBlocks: bigint | null;
  contracts: { name: string; address: string }[];
  /** Whether this process's last call to the chain node answered; null when it has not called it. */
  chainReachable: boolean | null;
  /** When the node stopped answering; null while it answers. */
  chainUnreachableSince: Date | null;
  /** Why the last call failed, while the node does not answer. */
  chainError: string | null;
  /** When headBlock was read. */
  headSeenAt: Date | null;
}

export interface ChainEventView {
  id: string;
  ordinal: bigint;
  name: string;
  address: string;
  blockNumber: bigint;
  txHash: string;
  logIndex: number;
  final: boolean;
  args: Record<string, unknown>;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** What the chain says, as the indexer mirrored it: status, escrow balances, events. */
export class ChainService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: ChainSettings,
  ) {}

  async status(): Promise<IndexerStatusView> {
    const cursor = await chainCursorOf(this.db, this.settings.chainId);
    const indexed = cursor ? cursor.blockNumber : null;
    const health = this.settings.health?.();
    const head = this.settings.head() ?? health?.headBlock ?? null;
    return {
      chainId: this.settings.chainId,
      headBlock: head,
      indexedBlock: indexed,
      finalizedBlock: cursor ? cursor.finalizedBlock : null,
      lagBlocks: head !== null ? head - (indexed ?? -1n) : null,
      contracts: this.settings.contracts,
      chainReachable: health?.reachable ?? null,
      chainUnreachableSince: health?.unreachableSince ?? null,
      chainError: health?.reachable === false ? health.error : null,
      headSeenAt: health?.headAt ?? null,
    };
  }

  /** An account's escrow by id (zero when it never deposited). */
  escrowOf(accountId: string): Promise<EscrowBalance> {
    return escrowBalance(this.db, accountId);
  }

  /** An account's stake as mirrored from the Staking contract (zeros when it never staked). */
  async stakeOf(accountId: string): Promise<{ stakedWei: bigint; unbondingWei: bigint; slashedWei: bigint }> {
    return stakeOfAccount(this.db, accountId);
  }

  /** An address's account id, if it has one; BAD_USER_INPUT for a malformed address. */
  async accountIdOf(address: string): Promise<string | undefined> {
    if (!ADDRESS.test(address)) throw badInput(`address must be a 0x-prefixed 20-byte hex address, got "${address.slice(0, 64)}"`);
    return accountIdOfAddress(this.db, address);
  }

  /** Events newest first; with an address, those naming it in any argument. */
  async events(address: string | null | undefined, first: number | null | undefined, after: string | null | undefined) {
    if (address && !ADDRESS.test(address)) throw badInput(`address must be a 0x-prefixed 20-byte hex address, got "${address.slice(0, 64)}"`);
    const size = pageSize(first);
    const before = after ? decodeOrdinalCursor("e", after) : undefined;
    const rows = await chainEventsPage(this.db, this.settings.chainId, before, address?.toLowerCase() ?? null, size + 1);
    const events: ChainEventView[] = rows.slice(0, size).map((r) => ({
      id: r.id,
      ordinal: BigInt(r.id),
      name: r.name,
      address: getAddress(r.address),
      blockNumber: BigInt(r.block_number),
      txHash: r.tx_hash,
      logIndex: r.log_index,
      final: r.final,
      args: r.args,
    }));
    return { events, cursors: events.map((e) => ordinalCursor("e", e.ordinal)), hasNextPage: rows.length > size };
  }
}
