/**
 * The chain side (`node dist/bench/chain.js`, part of `npm run bench`). On each node (the in-process Hardhat dev
 * chain, and anvil from `@foundry-rs/anvil`), a realistic mix of this marketplace's events (bench/chain-mix.ts) is
 * indexed from scratch into Postgres by two indexers on the same chain, each into its own fresh database:
 * - `baseline`: main's indexer before issue 14 (bench/legacy: recomputes escrow from all of a client's events,
 *   writes each event twice, sequential RPC calls, 100 ms polling);
 * - `indexer`: this repository's (incremental state, one write per event, pipelined RPC, newHeads follow mode).
 * For each: backfill events/s (overall, first and last tenth), then a deposit's mined -> row-visible latency while
 * it follows the head; both end in the same balances and stakes (checked). Then the gas per settled job in batches
 * of 1, 10 and 100. Writes the `chain` section of BENCHMARKS.md.
 */
import { startContractsFixture } from "../contracts/fixture";
import { measureWindowedGas, windowedGasTable, type WindowedGas } from "../contracts/gas-measure";
import os from "node:os";
import path from "node:path";
import { getAddress, id, keccak256, parseUnits, toUtf8Bytes } from "ethers";
import { Client } from "pg";
import { abiOf, escrowAt } from "../contracts";
import { buildSettlement, settleTuple, type SettledJob } from "../contracts/batch";
import { EthersChain } from "../indexer/adapters/ethers-chain";
import { createDataSource } from "../api/db/data-source";
import { emitMix, type Mix } from "./chain-mix";
import { anvilNode, hardhatNode, type BenchNode } from "./chain-nodes";
import { backfill, depositLatency, timedChain, timedStore, type Backfill } from "./chain-measure";
import { INDEXERS, type IndexerUnderTest } from "./chain-indexers";
import { dropDatabase } from "./cluster";
import { envInt } from "./env";
import { fmt, writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const settings = {
  /** Blocks of the mix per node: Hardhat's mining slows as its chain grows, so it gets the smaller set. */
  blocks: { hardhat: envInt("BENCH_CHAIN_BLOCKS_HARDHAT", 730), anvil: envInt("BENCH_CHAIN_BLOCKS_ANVIL", 3400) } as Record<string, number>,
  deposits: envInt("BENCH_CHAIN_LATENCY_DEPOSITS", 20),
  nodes: (process.env.BENCH_CHAIN_NODES ?? "anvil,hardhat").split(","),
  indexers: (process.env.BENCH_CHAIN_INDEXERS ?? INDEXERS.map((i) => i.name).join(",")).split(","),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
const say = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);

interface Run {
  indexer: string;
  backfill: Backfill;
  latency: { p50: number; max: number };
  state: string;
}

async function freshDatabase(name: string) {
  await dropDatabase(PG, name);
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const db = createDataSource(`${PG}/${name}`, 4);
  await db.initialize();
  await db.runMigrations({ transaction: "each" });
  return db;
}

/** The mirrored balances and stakes, as text, to check that both indexers end in the same state. */
async function mirrored(db: Client): Promise<string> {
  const escrow = await db.query(`SELECT a.address, b.deposited_wei, b.withdrawing_wei, b.withdraw_unlock_at, b.debt_wei FROM escrow_balances b JOIN accounts a ON a.id = b.account_id ORDER BY a.address`);
  const stakes = await db.query(`SELECT a.address, s.staked_wei, s.unbonding_wei, s.slashed_wei, s.unlock_at FROM stakes s JOIN accounts a ON a.id = s.account_id ORDER BY a.address`);
  return JSON.stringify([escrow.rows, stakes.rows]);
}

interface Indexed {
  indexer: IndexerUnderTest;
  name: string;
  db: Awaited<ReturnType<typeof freshDatabase>>;
  pg: Client;
  chain: ReturnType<typeof timedChain>;
  store: ReturnType<typeof timedStore>;
  follow: { startBlock: bigint; span: bigint; maxSpan: bigint; confirmations: bigint; keepBlocks: number };
  backfill: Backfill;
  state: string;
}

/** A backfill from scratch into the indexer's own fresh database; the state it ends in. */
async function backfillWith(node: BenchNode, mix: Mix, indexer: IndexerUnderTest): Promise<Indexed> {
  const name = `gx_bench_chain_${indexer.name}`;
  const db = await freshDatabase(name);
  const pg = new Client({ connectionString: `${PG}/${name}` });
  await pg.connect();
  await indexer.prepare?.(db);
  const rpc = { ms: 0 };
  const write = { ms: 0 };
  const marks: { events: number; at: number }[] = [];
  const chain = timedChain(new EthersChain(node.provider, [
    { address: mix.deployment.escrow, abi: abiOf("Escrow") },
    { address: mix.deployment.staking, abi: abiOf("Staking") },
  ]), rpc);
  const store = timedStore(indexer.store(db, BigInt(node.chainId)), write, marks);
  const follow = { startBlock: BigInt(mix.deployment.deploymentBlock), span: 1n, maxSpan: 2000n, confirmations: 2n, keepBlocks: 64 };
  say(`bench chain: ${node.name}: ${indexer.name} backfill`);
  const result = await backfill(indexer.stepper(chain, store, follow), marks, rpc, write);
  say(`bench chain: ${node.name}: ${indexer.name}: ${fmt(result.events)} events in ${fmt(result.seconds, 1)} s, ${fmt(result.perSecond)}/s (first tenth ${fmt(result.startPerSecond)}/s, last ${fmt(result.endPerSecond)}/s)`);
  return { indexer, name, db, pg, chain, store, follow, backfill: result, state: await mirrored(pg) };
}

/** Deposits while the indexer follows the head: mined -> row visible. */
async function latencyWith(node: BenchNode, mix: Mix, x: Indexed, wallet: string): Promise<Run> {
  try {
    const following = await x.indexer.follow({ chain: x.chain, store: x.store, settings: x.follow, databaseUrl: `${PG}/${x.name}`, wsUrl: node.wsUrl });
    const escrow = escrowAt(mix.deployment.escrow);
    const deposit = async () => String(await node.provider.send("eth_sendTransaction", [{ from: wallet, to: mix.deployment.escrow, data: escrow.interface.encodeFunctionData("deposit", [parseUnits("1", 18)]), gas: "0x61a80" }]));
    const latency = await depositLatency(deposit, x.pg, settings.deposits);
    await following.stop();
    say(`bench chain: ${node.name}: ${x.indexer.name}: deposit mined -> row p50 ${fmt(latency.p50, 1)} ms, max ${fmt(latency.max, 1)} ms`);
    return { indexer: x.indexer.name, backfill: x.backfill, latency, state: x.state };
  } finally {
    await x.pg.end();
    await x.db.destroy();
  }
}

/** Gas of settle for batches of 1, 10 and 100 jobs, on the node the mix ran on (its wallets have deposits). */
async function settleGas(node: BenchNode, mix: Mix): Promise<{ jobs: number; total: bigint }[]> {
  const escrow = escrowAt(mix.deployment.escrow, node.admin);
  const clients = Array.from({ length: 10 }, (_, i) => getAddress(`0x${keccak256(toUtf8Bytes(`bench-client-${i}`)).slice(26)}`));
  const gas: { jobs: number; total: bigint }[] = [];
  let batchId = 1_000_000n;
  for (const count of [1, 10, 100]) {
    const jobs: SettledJob[] = Array.from({ length: count }, (_, k) => ({
      jobId: id(`bench-${count}-${k}`),
      client: clients[k % Math.min(count, 10)],
      provider: getAddress(`0x${keccak256(toUtf8Bytes(`provider-${k % Math.min(count, 10)}`)).slice(26)}`),
      debitWei: parseUnits("0.01", 18) + BigInt(k),
      creditWei: parseUnits("0.0099", 18),
      resultHash: id(`result-${k}`),
    }));
    const nonce = await node.provider.getTransactionCount(node.admin.address, "latest");
    const receipt = await (await escrow.getFunction("settle")(settleTuple(buildSettlement(++batchId, jobs)), { nonce })).wait();
    gas.push({ jobs: count, total: BigInt(receipt!.gasUsed) });
  }
  return gas;
}

function table(node: BenchNode, mix: Mix, runs: Run[]): string[] {
  const line = (r: Run) =>
    `| ${r.indexer} | ${fmt(r.backfill.perSecond)} (${fmt(r.backfill.events)} in ${fmt(r.backfill.seconds, 1)} s) | ${fmt(r.backfill.startPerSecond)} / ${fmt(r.backfill.endPerSecond)} | ${fmt(r.backfill.rpcSeconds, 1)} s / ${fmt(r.backfill.writeSeconds, 1)} s | ${fmt(r.latency.p50, 1)} / ${fmt(r.latency.max, 1)} ms |`;
  const same = runs.every((r) => r.state === runs[0].state);
  return [
    `**${node.name}**: ${fmt(mix.lastBlock - mix.firstBlock + 1)} blocks of the mix, ${fmt(mix.txs)} transactions. Balances and stakes mirrored by the indexers: ${same ? "identical" : "**DIFFERENT**"}.`,
    "",
    "| indexer | backfill events/s | first / last tenth, events/s | in eth_getLogs / in writes | deposit mined -> row, p50 / max |",
    "|---|---:|---:|---:|---:|",
    ...runs.map(line),
    "",
  ];
}

/** The gas of settle with orders and allowances, and of a challenge, on an escrow with a 1-hour window. */
async function measureOnWindowedEscrow(): Promise<WindowedGas> {
  const f = await startContractsFixture({ challengeWindowSeconds: 3600 });
  try {
    return await measureWindowedGas(f);
  } finally {
    await f.stop();
  }
}

async function main(): Promise<number> {
  const sections: string[] = [];
  let gas: { jobs: number; total: bigint }[] | undefined;
  let windowed: WindowedGas | undefined;
  let failed = false;
  for (const which of settings.nodes) {
    const node = which === "anvil" ? await anvilNode() : await hardhatNode();
    try {
      const blocks = settings.blocks[which] ?? 730;
      say(`bench chain: ${node.name}: emitting ${blocks} blocks of the mix`);
      const t0 = performance.now();
      const mix = await emitMix(node.provider, node.admin.address, node.admin, { blocks, say });
      say(`bench chain: ${node.name}: mix of ${mix.txs} transactions in ${fmt((performance.now() - t0) / 1000, 1)} s`);
      const runs: Run[] = [];
      const wallet = getAddress(`0x${keccak256(toUtf8Bytes("bench-client-0")).slice(26)}`);
      // both backfill the same chain first (the latency's deposits come after), then each follows in turn
      const indexed: Indexed[] = [];
      for (const indexer of INDEXERS.filter((i) => settings.indexers.includes(i.name))) indexed.push(await backfillWith(node, mix, indexer));
      for (const x of indexed) runs.push(await latencyWith(node, mix, x, wallet));
      failed ||= runs.some((r) => r.state !== runs[0].state);
      sections.push(...table(node, mix, runs));
      if (which === "hardhat") gas = await settleGas(node, mix);
      if (which === "hardhat") windowed = await measureOnWindowedEscrow();
    } finally {
      await node.stop();
    }
  }
  const per100 = gas ? Number(gas[2].total) / 100 : 0;
  const body = [
    "## Chain: indexer backfill and follow latency, gas per settled job",
    "",
    `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/chain.ts) on this machine (${os.cpus().length} cores, Node ${process.version}).`,
    "Each node gets the same mix (bench/chain-mix.ts), per block: 8 deposits from 8 of 400 wallets, a withdrawal request",
    "and a withdrawal, setHolds over 10 clients, a settlement batch of 4 clients and 4 providers (Debited, Credited,",
    "the fee's Credited, BatchSettled), a stake; every few blocks an unstake, a stake withdrawal, a slash, and a short",
    "client whose line becomes a debt it pays 5 blocks later. Both indexers run on the same chain, one after the other,",
    "each into a fresh database on the same Postgres: `baseline` is main's indexer before issue 14 (bench/legacy), `indexer`",
    "is this one. The latency is a deposit's eth_sendTransaction returning (automine: mined) -> its row in Postgres,",
    `polled every 1 ms, ${settings.deposits} deposits at random phases while the indexer follows (baseline: polling every`,
    "100 ms; indexer: newHeads over WebSocket, polling every 100 ms as the fallback).",
    "",
    ...sections,
    ...(gas
      ? [
          "| settle on the Hardhat chain | gas per job |",
          "|---|---:|",
          `| 1 job (one job per transaction) | ${fmt(Number(gas[0].total))} |`,
          `| 10 jobs (10 clients, 10 providers) | ${fmt(Number(gas[1].total) / 10)} (${fmt(Number(gas[1].total))} in all) |`,
          `| 100 jobs (10 clients, 10 providers) | ${fmt(per100)} (${fmt(Number(gas[2].total))} in all); target <= 5,000: **${per100 <= 5000 ? "PASS" : "MISS"}** |`,
          "",
        ]
      : []),
    ...(windowed
      ? [
          "With the challenge window on (a fresh Hardhat chain, escrow deployed with a 1-hour window, contracts/gas-measure.ts):",
          "settle with signed orders (each job's nonce marked) and with allowances; then a challenge, its answer, a resolution.",
          "",
          ...windowedGasTable(windowed),
          "",
        ]
      : []),
  ].join("\n");
  process.stdout.write(`${body}\n`);
  if (settings.output !== "-") writeSections(settings.output, [["chain", body]]);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(`bench chain failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
