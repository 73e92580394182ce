import { concat, id, keccak256 } from "ethers";
import { buildSettlement, jobLeaf, merkleTree } from "./batch";
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

  test("one debit per client, one credit per provider, the fee, and a root over (jobId, provider, credit, resultHash)", () => {
    const jobs = [job(1, b, 100n, 90n), job(2, a, 50n, 45n), job(3, b, 10n, 10n)];
    const s = buildSettlement(9n, jobs);
    expect(s.clients.map((c) => c.toLowerCase())).toEqual([a, b]);
    expect(s.debits).toEqual([50n, 110n]);
    expect(s.providers.map((c) => c.toLowerCase())).toEqual([p]);
    expect(s.credits).toEqual([145n]);
    expect(s.feeWei).toBe(15n);
    expect(s.jobCount).toBe(3);
    const leaf = jobLeaf({ jobId: jobs[0].jobId, provider: p, amountWei: 90n, resultHash: jobs[0].resultHash });
    expect(processProof(s.tree.proofOf(leaf), leaf)).toBe(s.merkleRoot);
  });

  test("rejects an empty batch and a credit above its debit", () => {
    expect(() => buildSettlement(1n, [])).toThrow(/no jobs/);
    expect(() => buildSettlement(1n, [job(1, a, 10n, 11n)])).toThrow(/credits/);
  });
});
