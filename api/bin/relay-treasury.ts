import { loadSigner, type SignerSource } from "../../contracts/signer";
import type { TypedDataSigner } from "../services/job-order";
import type { Config } from "../config";
import type { ChainSide } from "./chain-side";

type TreasuryConfig = Pick<Config, "RELAY_TREASURY_ADDRESS" | "RELAY_TREASURY_KEY_FILE" | "RELAY_TREASURY_KEY_PASSWORD_FILE" | "RELAY_TREASURY_SIGNER_URL" | "RELAY_TREASURY_PRIVATE_KEY">;

/** Where the treasury's key is: the configured one, else (with no RELAY_TREASURY_ADDRESS) the dev chain's #19; undefined: none. */
export function treasurySource(config: TreasuryConfig, devKey: string | undefined): SignerSource | undefined {
  const address = config.RELAY_TREASURY_ADDRESS;
  if (config.RELAY_TREASURY_KEY_FILE) return { keyFile: config.RELAY_TREASURY_KEY_FILE, passwordFile: config.RELAY_TREASURY_KEY_PASSWORD_FILE, address };
  if (config.RELAY_TREASURY_SIGNER_URL) return { signerUrl: config.RELAY_TREASURY_SIGNER_URL, address };
  if (config.RELAY_TREASURY_PRIVATE_KEY) return { privateKey: config.RELAY_TREASURY_PRIVATE_KEY, address };
  return address === undefined && devKey ? { privateKey: devKey } : undefined;
}

/**
 * The relay's OGPU treasury: its address, and the signer of its jobs' orders when its key is configured (the
 * address is then the key's; a RELAY_TREASURY_ADDRESS that is not the key's refuses to start). Without a key the
 * relay's jobs go unsigned (on a windowed escrow only the treasury's on-chain allowance then covers them).
 */
export async function relayTreasury(config: TreasuryConfig, chainSide: Pick<ChainSide, "devTreasury" | "devTreasuryKey"> | undefined): Promise<{ address?: string; signer?: TypedDataSigner }> {
  const source = treasurySource(config, chainSide?.devTreasuryKey);
  if (!source) return { address: config.RELAY_TREASURY_ADDRESS ?? chainSide?.devTreasury };
  const signer = await loadSigner(source, null);
  return { address: await signer.getAddress(), signer };
}
