import type { ChainEvent, ChainPort, BlockRef } from "./types";

/** An in-memory chain whose history can be replaced from a height (a reorg). */
export class FakeChain implements ChainPort {
  blocks: { ref: BlockRef; events: ChainEvent[] }[] = [];
  maxSpan = 1000n;
  private fork = 0;
  /** `clients`: the addresses Deposited events name, in turn; `generate`, when given, makes each new block's events instead. */
  constructor(
    length: number,
    eventsEvery = 3,
    private readonly clients: readonly string[] = ["0x00000000000000000000000000000000000000c1"],
    private readonly generate?: (block: BlockRef) => Pick<ChainEvent, "address" | "name" | "args">[],
  ) {
    this.extend(length, eventsEvery);
  }
  extend(n: number, eventsEvery = 3): void {
    for (let i = 0; i < n; i++) {
      const number = BigInt(this.blocks.length);
      const parent = this.blocks.at(-1)?.ref.hash ?? "0x0";
      const hash = `0x${this.fork}f${number}`;
      const ref = { number, hash, parentHash: parent };
      if (this.generate) {
        this.blocks.push({ ref, events: this.generate(ref).map((e, i) => ({ ...e, blockNumber: number, blockHash: hash, txHash: `${hash}-tx${i}`, logIndex: i })) });
        continue;
      }
      const events: ChainEvent[] = Number(number) % eventsEvery === 0 ? [{ blockNumber: number, blockHash: hash, txHash: `${hash}-tx`, logIndex: 0, address: "0x00000000000000000000000000000000000e5c70", name: "Deposited", args: { client: this.clients[Number(number) % this.clients.length], amount: String(1000n + number * (BigInt(this.fork) + 1n)) } }] : [];
      this.blocks.push({ ref: { number, hash, parentHash: parent }, events });
    }
  }
  /** Adds an event to the newest block (e.g. a settlement), as the contract at `address` would emit it. */
  emit(name: string, address: string, args: ChainEvent["args"]): void {
    const block = this.blocks.at(-1)!;
    block.events.push({ blockNumber: block.ref.number, blockHash: block.ref.hash, txHash: `${block.ref.hash}-${name}`, logIndex: block.events.length, address, name, args });
  }
  /** Replaces blocks from `height` on with `n` new ones of another fork. */
  reorg(height: number, n: number): void {
    this.blocks = this.blocks.slice(0, height);
    this.fork++;
    this.extend(n, 2);
  }
  async head() {
    return BigInt(this.blocks.length - 1);
  }
  async finalized() {
    return undefined;
  }
  async block(n: bigint) {
    return this.blocks[Number(n)].ref;
  }
  async events(from: bigint, to: bigint) {
    if (to - from + 1n > this.maxSpan) throw new Error("query returned more than 10000 results");
    return this.blocks.slice(Number(from), Number(to) + 1).flatMap((b) => b.events);
  }
}

