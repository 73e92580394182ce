/**
 * A realistic mix of this marketplace's contract events on a local node (the in-process Hardhat chain or anvil),
 * for the indexer benchmark: every block has deposits from several of many wallets, a withdrawal request and a
 * withdrawal, a setHolds over a dozen clients, a settlement batch (Debited per client, Credited per provider and
 * the fee, BatchSettled), a stake; every few blocks an unstake, a stake withdrawal, a slash, and a short client
 * whose line becomes a debt (DebtRecorded) that it pays a few blocks later (DebtPaid). Transactions are sent from
 * impersonated accounts with automine off, then each block is mined at once: nothing reverts (the generator keeps
 * the state it needs to stay within the contracts' rules).
 */
import { getAddress, id, Interface, keccak256, MaxUint256, parseUnits, toBeHex, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { abiOf, deployAll, type Deployment } from "../contracts";
import { buildSettlement, settleTuple, type SettledJob } from "../contracts/batch";

export interface MixOptions {
  blocks: number;
  /** Deposits per block, each from another wallet (default 8). */
  deposits?: number;
  /** Clients in each setHolds (default 10). */
  holds?: number;
  /** Clients (and providers) in each settlement batch (default 4). */
  settleClients?: number;
  wallets?: number;
  providers?: number;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface Mix {
  deployment: Deployment;
  /** The first and last block of the mix. */
  firstBlock: number;
  lastBlock: number;
  /** Transactions sent in the mix. */
  txs: number;
  /** The node's RPC prefix for its own methods (hardhat_ or anvil_). */
  prefix: "hardhat" | "anvil";
}

const escrowAbi = new Interface(abiOf("Escrow"));
const stakingAbi = new Interface(abiOf("Staking"));
const tokenAbi = new Interface(abiOf("OGPUToken"));
const addressOf = (label: string) => getAddress(`0x${keccak256(toUtf8Bytes(label)).slice(26)}`);
const WITHDRAW_DELAY = 20;
const UNBONDING = 20;

/** The node's prefix for impersonation and balances: hardhat_ on Hardhat, anvil_ on anvil. */
async function prefixOf(provider: JsonRpcProvider): Promise<"hardhat" | "anvil"> {
  const version = String(await provider.send("web3_clientVersion", []));
  return /anvil/i.test(version) ? "anvil" : "hardhat";
}

/** Deploys the contracts (admin: `admin`, an unlocked or impersonated account) and emits the mix over `blocks` blocks. */
export async function emitMix(provider: JsonRpcProvider, admin: string, signerForDeploy: Parameters<typeof deployAll>[0], o: MixOptions): Promise<Mix> {
  const prefix = await prefixOf(provider);
  const say = o.say ?? (() => undefined);
  const deployment = await deployAll(signerForDeploy, { treasury: admin, feeRecipient: admin, settler: admin, slasher: admin, withdrawDelaySeconds: WITHDRAW_DELAY, unbondingSeconds: UNBONDING });
  const wallets = Array.from({ length: o.wallets ?? 400 }, (_, i) => addressOf(`bench-client-${i}`));
  const providers = Array.from({ length: o.providers ?? 40 }, (_, i) => addressOf(`bench-provider-${i}`));
  const poor = Array.from({ length: Math.ceil(o.blocks / 25) + 1 }, (_, i) => addressOf(`bench-short-${i}`));
  const pending: Promise<unknown>[] = [];
  let txs = 0;
  const nonces = new Map<string, number>();
  const send = (from: string, to: string, data: string, gas = 400_000) => {
    txs++;
    const nonce = nonces.get(from) ?? 0;
    nonces.set(from, nonce + 1);
    pending.push(provider.send("eth_sendTransaction", [{ from, to, data, gas: toBeHex(gas), nonce: toBeHex(nonce) }]));
  };
  const spent = { send: 0, mine: 0 };
  const mine = async () => {
    const t0 = performance.now();
    await Promise.all(pending.splice(0));
    const t1 = performance.now();
    await provider.send("evm_mine", []);
    spent.send += t1 - t0;
    spent.mine += performance.now() - t1;
  };

  say(`mix: funding ${wallets.length} wallets, ${providers.length} providers`);
  await provider.send("evm_setAutomine", [false]);
  const everyone = [...wallets, ...providers, ...poor];
  nonces.set(admin, await provider.getTransactionCount(admin, "latest"));
  for (const a of [admin, ...everyone]) {
    await provider.send(`${prefix}_impersonateAccount`, [a]);
    await provider.send(`${prefix}_setBalance`, [a, toBeHex(parseUnits("1000000", 18))]);
  }
  const unit = parseUnits("1", 18);
  for (const [i, a] of everyone.entries()) {
    send(admin, deployment.token, tokenAbi.encodeFunctionData("mint", [a, 1_000_000n * unit]));
    send(a, deployment.token, tokenAbi.encodeFunctionData("approve", [deployment.escrow, MaxUint256]));
    send(a, deployment.token, tokenAbi.encodeFunctionData("approve", [deployment.staking, MaxUint256]));
    if (i % 100 === 99) await mine();
  }
  await mine();
  // every wallet and provider starts with a deposit and a stake, so that holds, debits and slashes apply
  for (const [i, a] of wallets.entries()) {
    send(a, deployment.escrow, escrowAbi.encodeFunctionData("deposit", [1000n * unit]));
    if (i % 100 === 99) await mine();
  }
  for (const p of providers) send(p, deployment.staking, stakingAbi.encodeFunctionData("stake", [100n * unit]));
  await mine();

  const firstBlock = (await provider.getBlockNumber()) + 1;
  const requested: { client: string; at: number }[] = [];
  const unstaking: { provider: string; at: number }[] = [];
  const debts: { at: number; client: string; debtId: bigint; batchId: bigint; amount: bigint; providers: string[]; credits: bigint[] }[] = [];
  const staked = new Map(providers.map((p) => [p, 100n * unit]));
  let batchId = 0n;
  let debtId = 0n;
  let w = 0;
  for (let b = 0; b < o.blocks; b++) {
    const next = () => wallets[w++ % wallets.length];
    for (let d = 0; d < (o.deposits ?? 8); d++) send(next(), deployment.escrow, escrowAbi.encodeFunctionData("deposit", [unit + BigInt(b)]));
    const asking = next();
    if (!requested.some((r) => r.client === asking)) {
      send(asking, deployment.escrow, escrowAbi.encodeFunctionData("requestWithdraw", [unit / 2n]));
      requested.push({ client: asking, at: b });
    }
    if (requested.length > 0 && b - requested[0].at > WITHDRAW_DELAY + 2) send(requested.shift()!.client, deployment.escrow, escrowAbi.encodeFunctionData("withdraw", []));
    const held = Array.from({ length: o.holds ?? 10 }, () => next());
    send(admin, deployment.escrow, escrowAbi.encodeFunctionData("setHolds", [held, held.map((_, k) => unit / 10n + BigInt(b * 16 + k))]), 800_000);
    const jobs: SettledJob[] = Array.from({ length: o.settleClients ?? 4 }, (_, k) => ({
      jobId: id(`job-${b}-${k}`),
      client: next(),
      provider: providers[(b * 4 + k) % providers.length],
      debitWei: unit / 100n + BigInt(k),
      creditWei: (unit / 100n) * 9n / 10n,
      resultHash: id(`result-${b}-${k}`),
    }));
    const short = b % 25 === 3 ? poor[Math.floor(b / 25)] : undefined;
    if (short) jobs.push({ jobId: id(`job-${b}-short`), client: short, provider: providers[b % providers.length], debitWei: unit, creditWei: (unit * 9n) / 10n, resultHash: id(`short-${b}`) });
    const batch = buildSettlement(++batchId, jobs);
    send(admin, deployment.escrow, escrowAbi.encodeFunctionData("settle", [settleTuple(batch)]), 2_000_000);
    if (short) debts.push({ at: b, client: short, debtId: ++debtId, batchId, amount: unit, providers: [getAddress(providers[b % providers.length])], credits: [(unit * 9n) / 10n] });
    const due = debts[0];
    if (due && b - due.at === 3) send(due.client, deployment.escrow, escrowAbi.encodeFunctionData("deposit", [2n * unit]));
    if (due && b - due.at === 5) {
      debts.shift();
      send(admin, deployment.escrow, escrowAbi.encodeFunctionData("payDebt", [due.debtId, due.batchId, due.client, due.amount, due.providers, due.credits]), 600_000);
    }
    const p = providers[b % providers.length];
    send(p, deployment.staking, stakingAbi.encodeFunctionData("stake", [unit]));
    staked.set(p, staked.get(p)! + unit);
    if (b % 7 === 0 && !unstaking.some((u) => u.provider === p)) {
      send(p, deployment.staking, stakingAbi.encodeFunctionData("requestUnstake", [unit]));
      staked.set(p, staked.get(p)! - unit);
      unstaking.push({ provider: p, at: b });
    }
    if (unstaking.length > 0 && b - unstaking[0].at > UNBONDING + 2) send(unstaking.shift()!.provider, deployment.staking, stakingAbi.encodeFunctionData("withdraw", []));
    if (b % 11 === 5) send(admin, deployment.staking, stakingAbi.encodeFunctionData("slash", [providers[(b * 3) % providers.length], unit / 10n, id(`slash-${b}`)]));
    await mine();
    if (b % 500 === 499 || b === 49) say(`mix: ${b + 1} of ${o.blocks} blocks, ${txs} transactions (${Math.round(spent.send)} ms sending, ${Math.round(spent.mine)} ms mining)`);
  }
  const lastBlock = await provider.getBlockNumber();
  await provider.send("evm_setAutomine", [true]);
  return { deployment, firstBlock, lastBlock, txs, prefix };
}
