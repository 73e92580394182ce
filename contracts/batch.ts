import { AbiCoder, ZeroHash, concat, getAddress, keccak256 } from "ethers";

const coder = AbiCoder.defaultAbiCoder();

/** One settled job as the batch's Merkle tree records it (Escrow.JobLine). */
export interface JobLeaf {
  /** bytes32, 0x-prefixed. */
  jobId: string;
  client: string;
  provider: string;
  /** What the client pays for this job, in token base units (wei). */
  debitWei: bigint;
  /** What the provider is credited for this job, in wei. */
  creditWei: bigint;
  /** bytes32, 0x-prefixed. */
  resultHash: string;
  /** The EIP-712 digest of the client's signed order (orderDigest); ZeroHash for an allowance-covered job. */
  orderHash: string;
}

/** keccak256(abi.encode(jobId, client, provider, debit, credit, resultHash, orderHash)), as Escrow.jobLeaf. */
export function jobLeaf(job: JobLeaf): string {
  return keccak256(
    coder.encode(
      ["bytes32", "address", "address", "uint256", "uint256", "bytes32", "bytes32"],
      [job.jobId, job.client, job.provider, job.debitWei, job.creditWei, job.resultHash, job.orderHash],
    ),
  );
}

/** A provider's reputation counters after a batch, committed in the batch's Merkle tree beside its job leaves. */
export interface ReputationLeaf {
  provider: string;
  completed: number;
  failed: number;
  expired: number;
  rejected: number;
}

/** The tag that opens a reputation leaf's preimage: keccak256("gpu-exchange.reputation.v1"). */
export const REPUTATION_TAG = keccak256(Buffer.from("gpu-exchange.reputation.v1", "utf8"));

/**
 * keccak256(abi.encode(REPUTATION_TAG, provider, completed, failed, expired, rejected)): six words, where a job leaf
 * has seven, so no reputation leaf is ever a job leaf (the escrow verifies job leaves only).
 */
export function reputationLeaf(r: ReputationLeaf): string {
  return keccak256(
    coder.encode(["bytes32", "address", "uint256", "uint256", "uint256", "uint256"], [REPUTATION_TAG, getAddress(r.provider), r.completed, r.failed, r.expired, r.rejected]),
  );
}

/** Whether `proof` takes `leaf` to `root` in a sorted-pair tree (OpenZeppelin MerkleProof.verify). */
export function verifyMerkleProof(root: string, leaf: string, proof: readonly string[]): boolean {
  return proof.reduce((node, sibling) => hashPair(node, sibling), leaf.toLowerCase()) === root.toLowerCase();
}

/**
 * EscrowChallenge.SignedJob for `leaf` of batch `s`: what an answer posts for one job (the client's order and its
 * signature, the leaf's provider index, amounts and result, and its Merkle proof).
 */
export function signedJobOf<O>(s: Pick<SettlementBatch, "providers" | "tree">, leaf: JobLeaf, order: O, signature: string) {
  return { order, signature, providerIndex: s.providers.indexOf(leaf.provider), debit: leaf.debitWei, credit: leaf.creditWei, resultHash: leaf.resultHash, proof: s.tree.proofOf(jobLeaf(leaf)) };
}

/** Escrow.JobLine's tuple of a leaf (for jobLeaf and verifyJob calls). */
export function jobLineTuple(job: JobLeaf) {
  return { jobId: job.jobId, client: job.client, provider: job.provider, debit: job.debitWei, credit: job.creditWei, resultHash: job.resultHash, orderHash: job.orderHash };
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

/**
 * A completed job to settle: the client pays `debitWei`, the provider earns `creditWei` (<= debitWei). It is covered
 * either by the client's on-chain allowance (`allowance`) or by an order the client signed (`order`: its nonce, marked
 * used at settlement, and its EIP-712 digest); neither: an order entry without an order (challengeable, and lost).
 */
export interface SettledJob {
  jobId: string;
  client: string;
  provider: string;
  debitWei: bigint;
  creditWei: bigint;
  resultHash: string;
  allowance?: boolean;
  order?: { nonce: bigint; hash: string };
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
  /** One entry per client and kind (allowance or orders), sorted by address, allowance first. */
  clients: string[];
  debits: bigint[];
  providers: string[];
  credits: bigint[];
  /** What each client entry pays each provider entry (encodeLine), client then provider order. */
  lines: bigint[];
  /** Bitmap over client entries: bit i set when entry i is debited from the client's allowance. */
  allowanceBits: bigint[];
  /** Pairs (key, bits): key = (clientIndex << 240) | word; bit b marks order nonce word * 256 + b used. */
  nonceMarks: bigint[];
  tree: MerkleTree;
  /** Each job's leaf, in the jobs' order. */
  leaves: JobLeaf[];
  /** The providers' reputation counters after the batch, leaves of the same tree. */
  reputation: ReputationLeaf[];
  /** sum(debits) - sum(credits), in wei. */
  feeWei: bigint;
}

/** Escrow.settle's `Batch` tuple: the fields of a batch the contract takes, in its order. */
export type SettleArgs = Pick<SettlementBatch, "batchId" | "merkleRoot" | "jobCount" | "clients" | "debits" | "providers" | "credits" | "lines" | "allowanceBits" | "nonceMarks">;

/** Escrow.settle's `Batch` tuple of a batch (allowanceBits and nonceMarks empty when absent). */
export function settleTuple(b: Omit<SettleArgs, "allowanceBits" | "nonceMarks"> & Partial<Pick<SettleArgs, "allowanceBits" | "nonceMarks">>): SettleArgs {
  return {
    batchId: b.batchId,
    merkleRoot: b.merkleRoot,
    jobCount: b.jobCount,
    clients: b.clients,
    debits: b.debits,
    providers: b.providers,
    credits: b.credits,
    lines: b.lines,
    allowanceBits: b.allowanceBits ?? [],
    nonceMarks: b.nonceMarks ?? [],
  };
}

const entryKey = (job: SettledJob) => `${getAddress(job.client)}:${job.allowance === true ? "a" : "o"}`;

/** The client entries (address and kind, sorted: address, then allowance before orders) and their debits. */
function clientEntries(jobs: readonly SettledJob[]): { keys: string[]; clients: string[]; debits: bigint[] } {
  const totals = new Map<string, bigint>();
  for (const job of jobs) totals.set(entryKey(job), (totals.get(entryKey(job)) ?? 0n) + job.debitWei);
  const keys = [...totals.keys()].sort();
  return { keys, clients: keys.map((k) => k.split(":")[0]), debits: keys.map((k) => totals.get(k) ?? 0n) };
}

function providerEntries(jobs: readonly SettledJob[]): [string[], bigint[]] {
  const totals = new Map<string, bigint>();
  for (const job of jobs) {
    const address = getAddress(job.provider);
    totals.set(address, (totals.get(address) ?? 0n) + job.creditWei);
  }
  const addresses = [...totals.keys()].sort();
  return [addresses, addresses.map((a) => totals.get(a) ?? 0n)];
}

/** One line per (client entry, provider) pair that traded in the batch: the sum of the pair's credits. */
function linesOf(jobs: readonly SettledJob[], keys: readonly string[], providers: readonly string[]): bigint[] {
  const clientIndex = new Map(keys.map((k, i) => [k, i]));
  const providerIndex = new Map(providers.map((a, i) => [a, i]));
  const totals = new Map<string, { c: number; p: number; wei: bigint }>();
  for (const job of jobs) {
    const c = clientIndex.get(entryKey(job))!;
    const p = providerIndex.get(getAddress(job.provider))!;
    const key = `${c}:${p}`;
    const line = totals.get(key) ?? { c, p, wei: 0n };
    line.wei += job.creditWei;
    totals.set(key, line);
  }
  return [...totals.values()].sort((a, b) => a.c - b.c || a.p - b.p).map((l) => encodeLine(l.c, l.p, l.wei));
}

/** The bitmap words of the allowance entries. */
function allowanceBitsOf(keys: readonly string[]): bigint[] {
  const words: bigint[] = [];
  keys.forEach((k, i) => {
    if (!k.endsWith(":a")) return;
    while (words.length <= i >> 8) words.push(0n);
    words[i >> 8] |= 1n << BigInt(i & 0xff);
  });
  return words;
}

/** The nonce marks of the order entries: one (key, bits) pair per client entry and 256-nonce word. */
function nonceMarksOf(jobs: readonly SettledJob[], keys: readonly string[]): bigint[] {
  const clientIndex = new Map(keys.map((k, i) => [k, i]));
  const words = new Map<bigint, bigint>();
  const orderOf = new Map<string, string>();
  for (const job of jobs) {
    if (job.allowance === true || job.order === undefined) continue;
    const nonce = job.order.nonce;
    if (nonce < 0n || nonce >> 8n >= 1n << 64n) throw new Error(`buildSettlement: order nonce ${nonce} out of range`);
    const c = clientIndex.get(entryKey(job))!;
    // several leaves of one job (replicas, a failed run and its resumption) share its order; other jobs may not
    const first = orderOf.get(`${c}:${nonce}`);
    if (first !== undefined && first !== job.order.hash) throw new Error(`buildSettlement: order nonce ${nonce} of ${job.client} used by two orders`);
    orderOf.set(`${c}:${nonce}`, job.order.hash);
    const key = (BigInt(c) << 240n) | (nonce >> 8n);
    words.set(key, (words.get(key) ?? 0n) | (1n << (nonce & 0xffn)));
  }
  return [...words.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).flatMap(([key, bits]) => [key, bits]);
}

/**
 * Aggregates jobs into Escrow.settle arguments: one debit per client entry (a client's allowance jobs and its order
 * jobs are separate entries) and one credit per provider (addresses checksummed and sorted), the lines (what each
 * client entry pays each provider), the allowance bitmap, the order nonces to mark, and the Merkle root over the
 * jobs' leaves. Throws on an empty batch, a job whose credit exceeds its debit, an order nonce of two orders, or more
 * than MAX_BATCH_PARTIES client entries or providers. `reputation` leaves (the providers' counters) join the tree.
 */
export function buildSettlement(batchId: bigint, jobs: readonly SettledJob[], reputation: readonly ReputationLeaf[] = []): SettlementBatch {
  if (jobs.length === 0) throw new Error("buildSettlement: no jobs");
  for (const job of jobs) {
    if (job.debitWei < 0n || job.creditWei < 0n || job.creditWei > job.debitWei) {
      throw new Error(`buildSettlement: job ${job.jobId} credits ${job.creditWei} for a debit of ${job.debitWei}`);
    }
  }
  const { keys, clients, debits } = clientEntries(jobs);
  const [providers, credits] = providerEntries(jobs);
  if (clients.length > MAX_BATCH_PARTIES || providers.length > MAX_BATCH_PARTIES) throw new Error(`buildSettlement: more than ${MAX_BATCH_PARTIES} clients or providers`);
  const leaves: JobLeaf[] = jobs.map((j) => ({
    jobId: j.jobId,
    client: getAddress(j.client),
    provider: getAddress(j.provider),
    debitWei: j.debitWei,
    creditWei: j.creditWei,
    resultHash: j.resultHash,
    orderHash: j.allowance !== true && j.order !== undefined ? j.order.hash : ZeroHash,
  }));
  const tree = merkleTree([...leaves.map(jobLeaf), ...reputation.map(reputationLeaf)]);
  const total = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
  return {
    batchId,
    merkleRoot: tree.root,
    jobCount: jobs.length,
    clients,
    debits,
    providers,
    credits,
    lines: linesOf(jobs, keys, providers),
    allowanceBits: allowanceBitsOf(keys),
    nonceMarks: nonceMarksOf(jobs, keys),
    tree,
    leaves,
    reputation: [...reputation],
    feeWei: total(debits) - total(credits),
  };
}
