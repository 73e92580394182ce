import { Contract } from "ethers";
import { nextNonce } from "../contracts";
import { createRpcProvider } from "../contracts/rpc";
import { loadSigner, SignerConfigError } from "../contracts/signer";
import { AgentConfigError } from "./config";
import type { Logger } from "pino";
import { type GraphqlClient, isAuthError } from "./client";
import { errorText } from "./error-text";
import { type Loop, startLoop } from "./loop";
import { CreditWatchtower, type WatchtowerChain } from "./watchtower";

/** Escrow's challenge states (challengeOf): 1 is open. */
const OPEN = 1n;
const CHALLENGE_OF = ["function challengeOf(uint256 batchId, uint256 clientIndex) view returns (address challenger, uint64 deadline, uint8 state)"];

/** How long an answer may take to be mined before the check gives up on it (the next check sees whether it landed). */
const MINED_WITHIN_MS = 120_000;

/**
 * The watchtower's chain: the node at `rpcUrl` (of chain `chainId`) and the key in `keyFile` (a file of the 0x hex
 * key or a keystore, mode 600, outside the project: contracts/signer.ts's rules), which sends the answers.
 */
export async function connectWatchtowerChain(rpcUrl: string, keyFile: string, chainId: bigint): Promise<WatchtowerChain & { address: string; close(): void }> {
  const provider = createRpcProvider(rpcUrl, chainId);
  const signer = await loadSigner({ keyFile }, provider).catch((err: unknown) => {
    provider.destroy();
    throw err instanceof SignerConfigError ? new AgentConfigError("--watchtower-key-file", err.message) : err;
  });
  const address = await signer.getAddress();
  return {
    address,
    async isOpen(escrow, batchId, clientIndex) {
      const [, , state] = (await new Contract(escrow, CHALLENGE_OF, provider).getFunction("challengeOf")(batchId, clientIndex)) as [string, bigint, bigint];
      return BigInt(state) === OPEN;
    },
    async send(to, data) {
      const tx = await signer.sendTransaction({ to, data, nonce: await nextNonce(provider, address) });
      const receipt = await tx.wait(1, MINED_WITHIN_MS);
      if (receipt === null || receipt.status !== 1) throw new Error(`the answer ${tx.hash} was not mined successfully`);
      return tx.hash;
    },
    close: () => provider.destroy(),
  };
}

/**
 * Starts the agent's watchtower mode: learns the provider's address (Me) and the chain's id (IndexerStatus) from the
 * API, connects to the chain with the key file, and checks every `intervalS` seconds. An auth error goes to
 * `onFatal`; any other failure is logged and the next check tries again.
 */
export async function startWatchtowerMode(
  client: GraphqlClient,
  settings: { rpcUrl: string; keyFile: string; intervalS: number },
  logger: Logger,
  onFatal: (err: unknown) => void,
): Promise<{ stop(): Promise<void> }> {
  const { me } = await client.request<{ me: { address: string } }>("Me");
  const { indexerStatus } = await client.request<{ indexerStatus: { chainId: string } }>("IndexerStatus");
  const chain = await connectWatchtowerChain(settings.rpcUrl, settings.keyFile, BigInt(indexerStatus.chainId));
  const tower = new CreditWatchtower({ client, chain, provider: me.address, logger });
  logger.info({ provider: me.address, sender: chain.address, chainId: indexerStatus.chainId, everyS: settings.intervalS }, "watchtower mode: guarding this provider's settlement credits");
  const loop: Loop = startLoop(
    async () => void (await tower.check()),
    settings.intervalS * 1000,
    (err) => {
      if (isAuthError(err)) onFatal(err);
      else logger.warn({ err: errorText(err) }, "watchtower check failed");
    },
  );
  return {
    async stop() {
      await loop.stop();
      chain.close();
    },
  };
}
