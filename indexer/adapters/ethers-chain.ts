import { Interface, toQuantity, type EventFragment, type InterfaceAbi, type JsonRpcProvider } from "ethers";
import type { BlockRef, ChainEvent, ChainPort } from "../types";

/** A watched contract: its address and ABI (events are decoded by name and keyed by the ABI's parameter names). */
export interface WatchedContract {
  address: string;
  abi: InterfaceAbi;
}

/** A log as eth_getLogs returns it (hex quantities). */
interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
}

/** Static ABI types decoded straight from their 32-byte word (ethers' ABI coder is far slower for backfills). */
function wordValue(type: string, word: string): string | boolean | undefined {
  if (type === "address") return `0x${word.slice(24)}`.toLowerCase();
  if (type === "bool") return !/^0*$/.test(word);
  if (/^uint\d*$/.test(type)) return BigInt(`0x${word}`).toString();
  if (/^int\d*$/.test(type)) return BigInt.asIntN(256, BigInt(`0x${word}`)).toString();
  const bytes = /^bytes(\d+)$/.exec(type);
  if (bytes) return `0x${word.slice(0, Number(bytes[1]) * 2)}`;
  return undefined;
}

/** Args of an event whose parameters are all static, from topics and data words; undefined when one is not. */
function fastArgs(fragment: EventFragment, log: RawLog): Record<string, string | boolean | string[]> | undefined {
  const args: Record<string, string | boolean | string[]> = {};
  const data = log.data.startsWith("0x") ? log.data.slice(2) : log.data;
  let topic = 1;
  let word = 0;
  for (const [i, input] of fragment.inputs.entries()) {
    const raw = input.indexed ? log.topics[topic++]?.slice(2) : data.slice(word * 64, ++word * 64);
    if (raw === undefined || raw.length !== 64) return undefined;
    const value = wordValue(input.type, raw);
    if (value === undefined) return undefined;
    args[input.name || `arg${i}`] = value;
  }
  return args;
}

function slowArgs(iface: Interface, fragment: EventFragment, log: RawLog): Record<string, string | boolean | string[]> {
  const values = iface.decodeEventLog(fragment, log.data, log.topics);
  const args: Record<string, string | boolean | string[]> = {};
  fragment.inputs.forEach((input, i) => (args[input.name || `arg${i}`] = plain(values[i])));
  return args;
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
  private readonly fragments = new Map<string, EventFragment | null>();
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
    const logs: RawLog[] = await this.provider.send("eth_getLogs", [{ address: [...this.decoders.keys()], fromBlock: toQuantity(from), toBlock: toQuantity(to) }]);
    const events: ChainEvent[] = [];
    for (const log of logs) {
      const event = this.decode(log);
      if (event) events.push(event);
    }
    return events;
  }

  /** Decodes one raw log (no ethers Log objects: backfills decode tens of thousands). */
  private decode(log: RawLog): ChainEvent | undefined {
    if (log.removed) return undefined;
    const address = log.address.toLowerCase();
    const iface = this.decoders.get(address);
    if (!iface || log.topics.length === 0) return undefined;
    const key = `${address}:${log.topics[0]}`;
    let fragment = this.fragments.get(key);
    if (fragment === undefined) {
      fragment = iface.getEvent(log.topics[0]);
      this.fragments.set(key, fragment);
    }
    if (!fragment) return undefined;
    const args = fastArgs(fragment, log) ?? slowArgs(iface, fragment, log);
    return {
      blockNumber: BigInt(log.blockNumber),
      blockHash: log.blockHash,
      txHash: log.transactionHash,
      logIndex: Number(log.logIndex),
      address,
      name: fragment.name,
      args,
    };
  }
}
