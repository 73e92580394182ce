import { ZeroHash, concat, getAddress, id, keccak256 } from "ethers";
import { buildSettlement, decodeLine, encodeLine, jobLeaf, merkleTree, reputationLeaf, verifyMerkleProof } from "./batch";
import type { SettledJob } from "./batch";

/** OpenZeppelin MerkleProof.processProof: fold the proof with sorted-pair keccak256. */
function processProof(proof: string[], leaf: string): string {
  return proof.reduce((node, sibling) => (BigInt(node) < BigInt(sibling) ? keccak256(concat([node, sibling])) : keccak256(concat([sibling, node]))), leaf);
}

const leaves = (n: number) => Array.from({ length: n }, (_, i) => id(`leaf-${i}`));

describe("merkleTree", () => {
  test.each([1, 2, 3, 4, 5, 7, 8, 100])("every leaf of %i proves against the root", (n) => {
    const tree = merkleTree(leaves(n));
    for (const leaf of leaves(n)) expect(processProof(tree.proofOf(leaf), leaf)).toBe(tree.root);
  });

  test("one leaf is its own root; the root ignores leaf order", () => {
    expect(merkleTree([id("a")]).root).toBe(id("a"));
    expect(merkleTree([...leaves(9)].reverse()).root).toBe(merkleTree(leaves(9)).root);
  });

  test("a proof does not prove another leaf; unknown leaves and empty trees throw", () => {
    const tree = merkleTree(leaves(6));
    expect(processProof(tree.proofOf(leaves(6)[0]), leaves(6)[1])).not.toBe(tree.root);
    expect(() => tree.proofOf(id("nope"))).toThrow(/not in the tree/);
    expect(() => merkleTree([])).toThrow(/no leaves/);
  });
});

describe("buildSettlement", () => {
  const a = "0x00000000000000000000000000000000000000aa";
  const b = "0x00000000000000000000000000000000000000bb";
  const p = "0x00000000000000000000000000000000000000cc";
  const job = (k: number, client: string, debitWei: bigint, creditWei: bigint): SettledJob => ({
    jobId: id(`job-${k}`),
    client,
    provider: p,
    debitWei,
    creditWei,
    resultHash: id(`r-${k}`),
  });

  test("one debit per client, one credit per provider, the fee, and a root over (jobId, client, provider, debit, credit, resultHash, orderHash)", () => {
    const jobs = [job(1, b, 100n, 90n), job(2, a, 50n, 45n), job(3, b, 10n, 10n)];
    const s = buildSettlement(9n, jobs);
    expect(s.clients.map((c) => c.toLowerCase())).toEqual([a, b]);
    expect(s.debits).toEqual([50n, 110n]);
    expect(s.providers.map((c) => c.toLowerCase())).toEqual([p]);
    expect(s.credits).toEqual([145n]);
    expect(s.feeWei).toBe(15n);
    expect(s.jobCount).toBe(3);
    const leaf = jobLeaf({ jobId: jobs[0].jobId, client: getAddress(b), provider: getAddress(p), debitWei: 100n, creditWei: 90n, resultHash: jobs[0].resultHash, orderHash: ZeroHash });
    expect(processProof(s.tree.proofOf(leaf), leaf)).toBe(s.merkleRoot);
    expect(s.leaves.map(jobLeaf)).toContain(leaf);
    // no allowance entries, no orders: nothing flagged, no nonces marked
    expect(s.allowanceBits).toEqual([]);
    expect(s.nonceMarks).toEqual([]);
  });

  test("a client's allowance jobs and its order jobs are separate entries; order nonces are marked per entry and word", () => {
    const order = (nonce: bigint) => ({ nonce, hash: id(`order-${nonce}`) });
    const jobs = [
      { ...job(1, b, 100n, 90n), allowance: true },
      { ...job(2, b, 50n, 45n), order: order(3n) },
      { ...job(3, b, 10n, 9n), order: order(300n) },
      { ...job(4, a, 7n, 6n), order: order(5n) },
      { ...job(5, b, 20n, 18n), order: order(4n) },
    ];
    const s = buildSettlement(9n, jobs);
    expect(s.clients.map((c) => c.toLowerCase())).toEqual([a, b, b]);
    expect(s.debits).toEqual([7n, 100n, 80n]);
    expect(s.allowanceBits).toEqual([1n << 1n]);
    // entry 0 (a): nonce 5 in word 0; entry 2 (b's orders): nonces 3 and 4 in word 0, 300 in word 1
    expect(s.nonceMarks).toEqual([0n, 1n << 5n, 2n << 240n, (1n << 3n) | (1n << 4n), (2n << 240n) | 1n, 1n << 44n]);
    expect(s.lines.map(decodeLine)).toEqual([
      { clientIndex: 0, providerIndex: 0, amountWei: 6n },
      { clientIndex: 1, providerIndex: 0, amountWei: 90n },
      { clientIndex: 2, providerIndex: 0, amountWei: 72n },
    ]);
    expect(s.leaves[0].orderHash).toBe(ZeroHash);
    expect(s.leaves[1].orderHash).toBe(id("order-3"));
    // one nonce for two orders is refused; two leaves of one order (replicas of one job) share its nonce
    expect(() => buildSettlement(1n, [{ ...job(1, a, 1n, 1n), order: order(2n) }, { ...job(2, a, 1n, 1n), order: { nonce: 2n, hash: id("another") } }])).toThrow(/two orders/);
    const replicas = buildSettlement(1n, [{ ...job(1, a, 1n, 1n), order: order(2n) }, { ...job(1, a, 2n, 1n), order: order(2n) }]);
    expect(replicas.nonceMarks).toEqual([0n, 1n << 2n]);
    expect(replicas.leaves.map((l) => l.orderHash)).toEqual([id("order-2"), id("order-2")]);
  });

  test("one line per client and provider pair that traded: the pair's credits, by client then provider index", () => {
    const q = "0x00000000000000000000000000000000000000dd";
    const jobs = [job(1, b, 100n, 90n), { ...job(2, a, 50n, 45n), provider: q }, job(3, b, 10n, 10n), job(4, a, 7n, 6n)];
    const s = buildSettlement(9n, jobs);
    expect(s.providers.map((x) => x.toLowerCase())).toEqual([p, q]);
    expect(s.lines.map(decodeLine)).toEqual([
      { clientIndex: 0, providerIndex: 0, amountWei: 6n },
      { clientIndex: 0, providerIndex: 1, amountWei: 45n },
      { clientIndex: 1, providerIndex: 0, amountWei: 100n },
    ]);
    // every provider's credit is the sum of its lines; no client's lines exceed its debit
    s.providers.forEach((_, k) => expect(s.lines.map(decodeLine).filter((l) => l.providerIndex === k).reduce((t, l) => t + l.amountWei, 0n)).toBe(s.credits[k]));
    s.clients.forEach((_, k) => expect(s.lines.map(decodeLine).filter((l) => l.clientIndex === k).reduce((t, l) => t + l.amountWei, 0n) <= s.debits[k]).toBe(true));
  });

  test("a line packs its indexes above its amount, and refuses what does not fit", () => {
    expect(encodeLine(1, 2, 3n)).toBe((1n << 240n) | (2n << 224n) | 3n);
    expect(decodeLine(encodeLine(65535, 65535, (1n << 224n) - 1n))).toEqual({ clientIndex: 65535, providerIndex: 65535, amountWei: (1n << 224n) - 1n });
    expect(() => encodeLine(65536, 0, 1n)).toThrow(/client index/);
    expect(() => encodeLine(0, -1, 1n)).toThrow(/provider index/);
    expect(() => encodeLine(0, 0, 1n << 224n)).toThrow(/amount/);
  });

  test("reputation leaves join the tree: six words (tag, provider, four counters) each, proved against the batch's root", () => {
    const word = (v: bigint | string) => (typeof v === "string" ? v.toLowerCase().replace(/^0x/, "").padStart(64, "0") : v.toString(16).padStart(64, "0"));
    const tag = keccak256(Buffer.from("gpu-exchange.reputation.v1", "utf8"));
    const counters = { provider: getAddress(p), completed: 12, failed: 1, expired: 0, rejected: 3 };
    const expected = keccak256(`0x${[tag, p, 12n, 1n, 0n, 3n].map(word).join("")}`);
    expect(reputationLeaf(counters)).toBe(expected);
    const jobs = [job(1, a, 100n, 90n), job(2, b, 50n, 45n)];
    const plain = buildSettlement(1n, jobs);
    const s = buildSettlement(1n, jobs, [counters]);
    expect(s.merkleRoot).not.toBe(plain.merkleRoot);
    // the settle arguments are the same: the contract verifies only job leaves
    expect({ ...s, merkleRoot: "", tree: null, reputation: [] }).toEqual({ ...plain, merkleRoot: "", tree: null, reputation: [] });
    expect(processProof(s.tree.proofOf(expected), expected)).toBe(s.merkleRoot);
    expect(verifyMerkleProof(s.merkleRoot, expected, s.tree.proofOf(expected))).toBe(true);
    for (const leaf of s.leaves) expect(verifyMerkleProof(s.merkleRoot, jobLeaf(leaf), s.tree.proofOf(jobLeaf(leaf)))).toBe(true);
    // other counters do not prove
    expect(verifyMerkleProof(s.merkleRoot, reputationLeaf({ ...counters, rejected: 0 }), s.tree.proofOf(expected))).toBe(false);
  });

  test("rejects an empty batch and a credit above its debit", () => {
    expect(() => buildSettlement(1n, [])).toThrow(/no jobs/);
    expect(() => buildSettlement(1n, [job(1, a, 10n, 11n)])).toThrow(/credits/);
  });
});
