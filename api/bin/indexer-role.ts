import { Wallet } from "ethers";
import { abiOf, escrowAt } from "../../contracts";
import { loadSigner, type SignerSource } from "../../contracts/signer";
import { EthersChain } from "../../indexer/adapters/ethers-chain";
import { subscribeHeads } from "../../indexer/adapters/ws-heads";
import { settlementConfig } from "../config";
import { dedicatedConnections } from "../db/dedicated";
import { PgChainStore } from "../db/repositories/chain-store";
import { startIndexer, type IndexerRunner } from "../chain/indexer.runner";
import { ethersSettlementWriter, payDebts, sendSlashes, startSettlement, syncHolds, TX_WAIT_MS, type SettlementRunner } from "../chain/settlement.runner";
import { minWithdrawDelaySeconds } from "../services/settlement-plan";
import { SettlementService, type SettlementSettings } from "../services/settlement.service";
import { syncAllowances } from "../chain/allowance-sync";
import { answerChallenges, mirrorUpheld } from "../chain/challenge-answers";
import type { ChainSide } from "./chain-side";
import type { Infrastructure } from "./infrastructure";

/** Blocks asked for in the indexer's first range; it grows to INDEXER_SPAN_BLOCKS while ranges come back quickly. */
const FIRST_SPAN_BLOCKS = 1n;
/** Recent block hashes kept to find a reorg's common ancestor (deeper reorgs than this rewind to the start). */
const KEEP_BLOCKS = 64;

/** The indexer role: follows `chain` into Postgres (one leader) and, with a settler key, sends settlement batches, holds and slashes. */
export async function startIndexerRole({ config, logger, db, shutdown, chainHealth }: Infrastructure, chain: ChainSide): Promise<IndexerRunner> {
  const settling: { runner?: SettlementRunner } = {};
  const indexer = await startIndexer({
    connect: dedicatedConnections(config.DATABASE_URL),
    chain: new EthersChain(chain.provider, [
      { address: chain.escrow, abi: abiOf("Escrow") },
      { address: chain.staking, abi: abiOf("Staking") },
    ]),
    store: new PgChainStore(db, chain.chainId),
    settings: {
      startBlock: chain.startBlock,
      span: FIRST_SPAN_BLOCKS,
      maxSpan: BigInt(config.INDEXER_SPAN_BLOCKS),
      confirmations: BigInt(config.CHAIN_CONFIRMATIONS),
      keepBlocks: KEEP_BLOCKS,
    },
    pollMs: config.INDEXER_POLL_MS,
    heads: chain.wsUrl ? (onHead) => subscribeHeads(chain.wsUrl!, onHead, (err) => logger.debug({ err: { message: err.message } }, "indexer: newHeads subscription failed; polling meanwhile")) : undefined,
    logger,
    health: chainHealth,
    maxBackoffMs: config.INDEXER_MAX_BACKOFF_MS,
    onProgress: () => settling.runner?.kick(),
  });
  shutdown.add("the indexer", () => indexer.stop());
  const source = settlerSource(config, chain.dev?.accounts[0].privateKey);
  if (!source) {
    logger.warn("no SETTLER_PRIVATE_KEY, SETTLER_KEY_FILE or SETTLER_SIGNER_URL: completed work is not settled on chain by this process");
    return indexer;
  }
  const settler = await loadSigner(source, chain.provider);
  const slasher = config.SLASHER_PRIVATE_KEY ? new Wallet(config.SLASHER_PRIVATE_KEY, chain.provider) : settler;
  logger.info({ settler: await settler.getAddress(), signer: source.signerUrl ? "remote" : source.keyFile ? "key file" : "key" }, "settlement: signing as the settler");
  const settlementSettings: SettlementSettings = {
    chainId: chain.chainId,
    escrow: chain.escrow,
    ...settlementConfig(config),
    windowed: async () => BigInt(await escrowAt(chain.escrow, chain.provider).getFunction("challengeWindow")()) > 0n,
  };
  const settlement = startSettlement({
    service: new SettlementService(db, settlementSettings),
    writer: ethersSettlementWriter(chain.provider, chain.escrow, settler),
    intervalMs: config.SETTLEMENT_INTERVAL_MS,
    logger,
    slashes: () => sendSlashes(db, chain.provider, chain.staking, slasher, logger),
    holds: () => syncHolds(db, chain.provider, chain.escrow, settler),
    debts: () => payDebts(db, chain.provider, chain.escrow, settler, logger),
    // the mirror first: it needs no gas money, answering does
    challenges: async () => (await mirrorUpheld(db, settlementSettings, logger)) + (await answerChallenges(db, chain.provider, settlementSettings, settler, logger)),
    allowances: () => syncAllowances(db, chain.provider, settlementSettings),
    maxBackoffMs: config.SETTLEMENT_MAX_BACKOFF_SECONDS * 1000,
  });
  settling.runner = settlement;
  shutdown.add("settlement", () => settlement.stop());
  void checkWithdrawDelay(chain, { indexerPollMs: config.INDEXER_POLL_MS, settlementIntervalMs: config.SETTLEMENT_INTERVAL_MS, holdsTxWaitMs: TX_WAIT_MS }, logger);
  return indexer;
}

/** Where the settler's key is (contracts/signer.ts): the configured one, else the dev chain's account #0; undefined: none. */
export function settlerSource(config: Infrastructure["config"], devKey: string | undefined): SignerSource | undefined {
  if (config.SETTLER_KEY_FILE) return { keyFile: config.SETTLER_KEY_FILE, passwordFile: config.SETTLER_KEY_PASSWORD_FILE, address: config.SETTLER_ADDRESS };
  if (config.SETTLER_SIGNER_URL) return { signerUrl: config.SETTLER_SIGNER_URL, address: config.SETTLER_ADDRESS };
  const privateKey = config.SETTLER_PRIVATE_KEY ?? devKey;
  return privateKey ? { privateKey, address: config.SETTLER_ADDRESS } : undefined;
}

/**
 * Says at error when the escrow lets a withdrawal through sooner than this process mirrors a new hold: jobs could then
 * be paid for with money the client took back (the batch still settles, the client's line becomes a debt).
 */
async function checkWithdrawDelay(chain: ChainSide, timing: Parameters<typeof minWithdrawDelaySeconds>[0], logger: Infrastructure["logger"]): Promise<void> {
  const needed = minWithdrawDelaySeconds(timing);
  const delay = await escrowAt(chain.escrow, chain.provider).getFunction("withdrawDelay")().then(Number, () => undefined);
  if (delay !== undefined && delay < needed) {
    logger.error({ withdrawDelaySeconds: delay, neededSeconds: needed, ...timing }, "escrow: the withdrawal delay is shorter than this marketplace takes to mirror a new hold on chain; raise it (setWithdrawDelay) or settle more often");
  }
}
