import { AbiCoder, concat, getAddress, keccak256 } from "ethers";

const coder = AbiCoder.defaultAbiCoder();

/** One settled job as the batch's Merkle tree records it. */
export interface JobLeaf {
  /** bytes32, 0x-prefixed. */
  jobId: string;
  provider: string;
  /** What the provider is credited for this job, in token base units (wei). */
  amountWei: bigint;
  /** bytes32, 0x-prefixed. */
  resultHash: string;
}

/** keccak256(abi.encode(bytes32 jobId, address provider, uint256 amount, bytes32 resultHash)), as Escrow.jobLeaf. */
export function jobLeaf(job: JobLeaf): string {
  return keccak256(
    coder.encode(["bytes32", "address", "uint256", "bytes32"], [job.jobId, job.provider, job.amountWei, job.resultHash]),
  );
}

function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

export interface MerkleTree {
  /** bytes32 root; for one leaf the leaf itself. */
  root: string;
  /** The sibling hashes from the leaf up, for OpenZeppelin MerkleProof.verify; throws if the leaf is absent. */
  proofOf(leaf: string): string[];
}

/**
 * A sorted-pair keccak256 Merkle tree (OpenZeppelin MerkleProof compatible) over leaf hashes.
 * Leaves are sorted ascending first, so the root does not depend on their order; a node without a
 * sibling moves up unchanged. Throws on an empty list.
 */
export function merkleTree(leaves: readonly string[]): MerkleTree {
  if (leaves.length === 0) throw new Error("merkleTree: no leaves");
  const sorted = leaves.map((l) => l.toLowerCase()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  const layers: string[][] = [sorted];
  while (layers[layers.length - 1].length > 1) {
    const below = layers[layers.length - 1];
    const above: string[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(i + 1 < below.length ? hashPair(below[i], below[i + 1]) : below[i]);
    layers.push(above);
  }
  return {
    root: layers[layers.length - 1][0],
    proofOf(leaf: string): string[] {
      let index = sorted.indexOf(leaf.toLowerCase());
      if (index < 0) throw new Error(`merkleTree: leaf ${leaf} not in the tree`);
      const proof: string[] = [];
      for (const layer of layers.slice(0, -1)) {
        const sibling = index ^ 1;
        if (sibling < layer.length) proof.push(layer[sibling]);
        index >>= 1;
      }
      return proof;
    },
  };
}

/** A completed job to settle: the client pays `debitWei`, the provider earns `creditWei` (<= debitWei). */
export interface SettledJob {
  jobId: string;
  client: string;
  provider: string;
  debitWei: bigint;
  creditWei: bigint;
  resultHash: string;
}

/** The most client or provider entries a batch may have: a line names each by a 16-bit index. */
export const MAX_BATCH_PARTIES = 0x10000;

/** Escrow.settle's line word: (clientIndex << 240) | (providerIndex << 224) | amount. */
export function encodeLine(clientIndex: number, providerIndex: number, amountWei: bigint): bigint {
  if (!Number.isInteger(clientIndex) || clientIndex < 0 || clientIndex >= MAX_BATCH_PARTIES) throw new Error(`encodeLine: client index ${clientIndex} out of range`);
  if (!Number.isInteger(providerIndex) || providerIndex < 0 || providerIndex >= MAX_BATCH_PARTIES) throw new Error(`encodeLine: provider index ${providerIndex} out of range`);
  if (amountWei < 0n || amountWei >= 1n << 224n) throw new Error(`encodeLine: amount ${amountWei} out of range`);
  return (BigInt(clientIndex) << 240n) | (BigInt(providerIndex) << 224n) | amountWei;
}

/** The inverse of encodeLine. */
export function decodeLine(line: bigint): { clientIndex: number; providerIndex: number; amountWei: bigint } {
  return { clientIndex: Number(line >> 240n), providerIndex: Number((line >> 224n) & 0xffffn), amountWei: line & ((1n << 224n) - 1n) };
}

/** The arguments of Escrow.settle for one batch (its `Batch` tuple), with the tree for proofs. */
export interface SettlementBatch {
  batchId: bigint;
  merkleRoot: string;
  jobCount: number;
  clients: string[];
  debits: bigint[];
  providers: string[];
  credits: bigint[];
  /**
   * What each client entry pays each provider entry (encodeLine), client then provider order: the contract reads
   * them only for a client whose balance cannot cover its debit, to move that client's credits into its debt.
   */
  lines: bigint[];
  tree: MerkleTree;
  /** sum(debits) - sum(credits), in wei. */
  feeWei: bigint;
}

function sumBy(jobs: readonly SettledJob[], key: "client" | "provider", amount: "debitWei" | "creditWei"): [string[], bigint[]] {
  const totals = new Map<string, bigint>();
  for (const job of jobs) {
    const address = getAddress(job[key]);
    totals.set(address, (totals.get(address) ?? 0n) + job[amount]);
  }
  const addresses = [...totals.keys()].sort();
  return [addresses, addresses.map((a) => totals.get(a) ?? 0n)];
}

/** Escrow.settle's `Batch` tuple of a batch (the fields the contract takes, in its order). */
export function settleTuple(b: Pick<SettlementBatch, "batchId" | "merkleRoot" | "jobCount" | "clients" | "debits" | "providers" | "credits" | "lines">) {
  return { batchId: b.batchId, merkleRoot: b.merkleRoot, jobCount: b.jobCount, clients: b.clients, debits: b.debits, providers: b.providers, credits: b.credits, lines: b.lines };
}

/** One line per (client, provider) pair that traded in the batch: the sum of the pair's credits. */
function linesOf(jobs: readonly SettledJob[], clients: readonly string[], providers: readonly string[]): bigint[] {
  const clientIndex = new Map(clients.map((a, i) => [a, i]));
  const providerIndex = new Map(providers.map((a, i) => [a, i]));
  const totals = new Map<string, { c: number; p: number; wei: bigint }>();
  for (const job of jobs) {
    const c = clientIndex.get(getAddress(job.client))!;
    const p = providerIndex.get(getAddress(job.provider))!;
    const key = `${c}:${p}`;
    const line = totals.get(key) ?? { c, p, wei: 0n };
    line.wei += job.creditWei;
    totals.set(key, line);
  }
  return [...totals.values()].sort((a, b) => a.c - b.c || a.p - b.p).map((l) => encodeLine(l.c, l.p, l.wei));
}

/**
 * Aggregates jobs into Escrow.settle arguments: one debit per client and one credit per provider
 * (addresses checksummed and sorted), the lines (what each client pays each provider), and the Merkle
 * root over leaves (jobId, provider, creditWei, resultHash). Throws on an empty batch, a job whose credit
 * exceeds its debit, or more than MAX_BATCH_PARTIES clients or providers.
 */
export function buildSettlement(batchId: bigint, jobs: readonly SettledJob[]): SettlementBatch {
  if (jobs.length === 0) throw new Error("buildSettlement: no jobs");
  for (const job of jobs) {
    if (job.debitWei < 0n || job.creditWei < 0n || job.creditWei > job.debitWei) {
      throw new Error(`buildSettlement: job ${job.jobId} credits ${job.creditWei} for a debit of ${job.debitWei}`);
    }
  }
  const [clients, debits] = sumBy(jobs, "client", "debitWei");
  const [providers, credits] = sumBy(jobs, "provider", "creditWei");
  if (clients.length > MAX_BATCH_PARTIES || providers.length > MAX_BATCH_PARTIES) throw new Error(`buildSettlement: more than ${MAX_BATCH_PARTIES} clients or providers`);
  const tree = merkleTree(
    jobs.map((j) => jobLeaf({ jobId: j.jobId, provider: getAddress(j.provider), amountWei: j.creditWei, resultHash: j.resultHash })),
  );
  const total = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  return {
    batchId,
    merkleRoot: tree.root,
    jobCount: jobs.length,
    clients,
    debits,
    providers,
    credits,
    lines: linesOf(jobs, clients, providers),
    tree,
    feeWei: total(debits) - total(credits),
  };
}
