import { getAddress, type Contract, type Log } from "ethers";
import type { SettleArgs } from "./batch";

/** A batch as a challenge needs it: settle's arguments (from its transaction) and its BatchCommitted commitment. */
export interface CommittedBatch {
  batch: SettleArgs;
  commitment: { settler: string; feeRecipient: string; settledAt: bigint };
  txHash: string;
}

/** What the watchtower knows a client signed: its orders' nonces and their maxCost. */
export type SignedOrders = (client: string) => ReadonlyMap<bigint, bigint>;

/** One entry the watchtower looked at, and what it did. */
export interface Finding {
  batchId: bigint;
  clientIndex: number;
  client: string;
  debit: bigint;
  /** The most the client's signed orders marked by this entry allow. */
  covered: bigint;
  action: "ok" | "challenged" | "allowance";
}

/** Whether bit `i` of a bitmap of 256-bit words (Escrow's allowanceBits) is set. */
export const isSet = (bits: readonly bigint[], i: number) => i >> 8 < bits.length && ((bits[i >> 8] >> BigInt(i & 0xff)) & 1n) === 1n;

/** The nonces entry `clientIndex` marks (nonceMarks pairs). */
export function markedNonces(batch: CommittedBatch["batch"], clientIndex: number): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k + 1 < batch.nonceMarks.length; k += 2) {
    const key = batch.nonceMarks[k];
    if (Number(key >> 240n) !== clientIndex) continue;
    const word = key & ((1n << 64n) - 1n);
    for (let b = 0n; b < 256n; b++) if (((batch.nonceMarks[k + 1] >> b) & 1n) === 1n) out.push((word << 8n) + b);
  }
  return out;
}

/**
 * The most a client entry can be justified by: the maxCost of each order the client signed whose nonce the entry
 * marks. A debit above it cannot be answered (an answer needs a signed order per job, each covering its debit, each
 * nonce marked by the entry), so a challenge of it is upheld.
 */
export function coveredBySignedOrders(batch: CommittedBatch["batch"], clientIndex: number, signed: ReadonlyMap<bigint, bigint>): bigint {
  return markedNonces(batch, clientIndex).reduce((t, n) => t + (signed.get(n) ?? 0n), 0n);
}

/** The batch a BatchCommitted log names, read back from its settle transaction's calldata. */
export async function readCommittedBatch(escrow: Contract, log: Log): Promise<CommittedBatch> {
  const parsed = escrow.interface.parseLog(log);
  if (parsed === null || parsed.name !== "BatchCommitted") throw new Error("watchtower: not a BatchCommitted log");
  const tx = await log.getTransaction();
  const call = escrow.interface.parseTransaction({ data: tx.data });
  if (call === null || call.name !== "settle") throw new Error(`watchtower: batch ${parsed.args.batchId} was not settled by a direct settle call (${tx.hash})`);
  const b = call.args[0];
  const list = <T>(xs: Iterable<T>) => [...xs];
  return {
    batch: {
      batchId: b.batchId,
      merkleRoot: b.merkleRoot,
      jobCount: Number(b.jobCount),
      clients: list<string>(b.clients),
      debits: list<bigint>(b.debits),
      providers: list<string>(b.providers),
      credits: list<bigint>(b.credits),
      lines: list<bigint>(b.lines),
      allowanceBits: list<bigint>(b.allowanceBits),
      nonceMarks: list<bigint>(b.nonceMarks),
    },
    commitment: { settler: parsed.args.settler, feeRecipient: parsed.args.feeRecipient, settledAt: parsed.args.settledAt },
    txHash: tx.hash,
  };
}

/**
 * Follows an escrow's batches and challenges, for the clients it guards (all when `clients` is absent), every
 * order-covered entry whose debit exceeds what the client's signed orders marked by it allow; then resolves its
 * challenges nobody answered once their deadline has passed. Anyone may run it for anyone: a challenge returns the
 * money to the client, and an upheld one pays the settler's bond to the watchtower's account. `escrow` is connected
 * to the account that sends the challenges (it pays their gas, and any challenge deposit: approve it first).
 */
export class Watchtower {
  private fromBlock: number;
  private readonly open: { committed: CommittedBatch; clientIndex: number; deadline: bigint }[] = [];

  constructor(
    private readonly escrow: Contract,
    private readonly signedOrders: SignedOrders,
    /** `clients`: the addresses it guards, or a function asked at every check (absent: every client). */
    private readonly opts: { fromBlock: number; clients?: readonly string[] | (() => readonly string[]) },
  ) {
    this.fromBlock = opts.fromBlock;
  }

  private guards(client: string): boolean {
    const clients = typeof this.opts.clients === "function" ? this.opts.clients() : this.opts.clients;
    return clients === undefined || clients.some((c) => getAddress(c) === getAddress(client));
  }

  /** Looks at every batch committed since the last call, challenges what it must, resolves what it can. */
  async poll(): Promise<Finding[]> {
    const provider = this.escrow.runner?.provider;
    if (provider == null) throw new Error("watchtower: escrow has no provider");
    const head = await provider.getBlockNumber();
    const findings: Finding[] = [];
    if (head >= this.fromBlock) {
      const logs = await this.escrow.queryFilter(this.escrow.filters.BatchCommitted(), this.fromBlock, head);
      for (const log of logs) findings.push(...(await this.check(await readCommittedBatch(this.escrow, log))));
      this.fromBlock = head + 1;
    }
    await this.resolveDue();
    return findings;
  }

  private async check(committed: CommittedBatch): Promise<Finding[]> {
    const { batch, commitment } = committed;
    const findings: Finding[] = [];
    const shortRows = await this.escrow.queryFilter(this.escrow.filters.AllowanceShort(batch.batchId));
    const short = new Set(shortRows.map((l) => Number(this.escrow.interface.parseLog(l)?.args.clientIndex)));
    for (let i = 0; i < batch.clients.length; i++) {
      const client = batch.clients[i];
      if (!this.guards(client)) continue;
      const base = { batchId: batch.batchId, clientIndex: i, client, debit: batch.debits[i] };
      if (isSet(batch.allowanceBits, i) && !short.has(i)) {
        findings.push({ ...base, covered: batch.debits[i], action: "allowance" });
        continue;
      }
      const covered = coveredBySignedOrders(batch, i, this.signedOrders(client));
      if (batch.debits[i] <= covered) {
        findings.push({ ...base, covered, action: "ok" });
        continue;
      }
      const [, , state] = await this.escrow.challengeOf(batch.batchId, i);
      if (Number(state) === 0) await (await this.escrow.challenge(batch, commitment, i)).wait();
      const [, deadline] = await this.escrow.challengeOf(batch.batchId, i);
      this.open.push({ committed, clientIndex: i, deadline: BigInt(deadline) });
      findings.push({ ...base, covered, action: "challenged" });
    }
    return findings;
  }

  /** Resolves this watchtower's open challenges whose answer deadline has passed (upheld: nobody answered). */
  private async resolveDue(): Promise<void> {
    const block = await this.escrow.runner!.provider!.getBlock("latest");
    const now = BigInt(block?.timestamp ?? 0);
    for (let k = this.open.length - 1; k >= 0; k--) {
      const { committed, clientIndex, deadline } = this.open[k];
      const [, , state] = await this.escrow.challengeOf(committed.batch.batchId, clientIndex);
      if (Number(state) !== 1) {
        this.open.splice(k, 1);
        continue;
      }
      if (now <= deadline) continue;
      await (await this.escrow.resolveChallenge(committed.batch, committed.commitment, clientIndex)).wait();
      this.open.splice(k, 1);
    }
  }
}
