import { Interface, type InterfaceAbi, type JsonRpcProvider, type Log } from "ethers";
import type { BlockRef, ChainEvent, ChainPort } from "../types";

/** A watched contract: its address and ABI (events are decoded by name and keyed by the ABI's parameter names). */
export interface WatchedContract {
  address: string;
  abi: InterfaceAbi;
}

/** ABI values as the indexer stores them: integers as decimal strings, addresses lower-case, bytes as hex. */
function plain(value: unknown): string | boolean | string[] {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((v) => String(plain(v)));
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? value.toLowerCase() : value;
  return String(value);
}

/**
 * The indexer's chain port over an ethers JSON-RPC provider: block refs, the finalized tag where the chain has one,
 * and the decoded events of the watched contracts in a block range (one eth_getLogs call; a provider that refuses
 * a large range throws, and the follower halves it).
 */
export class EthersChain implements ChainPort {
  private readonly decoders = new Map<string, Interface>();
  private finalizedTag: boolean | undefined;

  constructor(
    private readonly provider: JsonRpcProvider,
    contracts: readonly WatchedContract[],
  ) {
    for (const c of contracts) this.decoders.set(c.address.toLowerCase(), new Interface(c.abi));
  }

  async head(): Promise<bigint> {
    return BigInt(await this.provider.getBlockNumber());
  }

  async finalized(): Promise<bigint | undefined> {
    if (this.finalizedTag === false) return undefined;
    try {
      const block = await this.provider.getBlock("finalized");
      this.finalizedTag = block !== null;
      return block ? BigInt(block.number) : undefined;
    } catch {
      this.finalizedTag = false;
      return undefined;
    }
  }

  async block(number: bigint): Promise<BlockRef> {
    const block = await this.provider.getBlock(Number(number));
    if (!block || !block.hash) throw new Error(`block ${number} is not available`);
    return { number: BigInt(block.number), hash: block.hash, parentHash: block.parentHash };
  }

  async events(from: bigint, to: bigint): Promise<ChainEvent[]> {
    const logs = await this.provider.getLogs({ address: [...this.decoders.keys()], fromBlock: Number(from), toBlock: Number(to) });
    return logs.flatMap((log) => this.decode(log));
  }

  private decode(log: Log): ChainEvent[] {
    const parsed = this.decoders.get(log.address.toLowerCase())?.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return [];
    const args: Record<string, string | boolean | string[]> = {};
    parsed.fragment.inputs.forEach((input, i) => (args[input.name || `arg${i}`] = plain(parsed.args[i])));
    return [
      {
        blockNumber: BigInt(log.blockNumber),
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        logIndex: log.index,
        address: log.address.toLowerCase(),
        name: parsed.name,
        args,
      },
    ];
  }
}
