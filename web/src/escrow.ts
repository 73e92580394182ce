import { IndexerStatusDocument, type ExchangeClient } from "@gpu-exchange/sdk";
import { BrowserProvider, Contract, parseUnits } from "ethers";

const TOKEN_ABI = ["function approve(address spender, uint256 amount) returns (bool)", "function allowance(address owner, address spender) view returns (uint256)", "function balanceOf(address) view returns (uint256)"];
const ESCROW_ABI = ["function deposit(uint256 amount)", "function requestWithdraw(uint256 amount)", "function withdraw()"];

/**
 * The escrow contract through the browser's wallet (window.ethereum): the addresses come from the API
 * (`indexerStatus.contracts`), the transactions from the wallet; the API shows the result once its indexer has seen it.
 */
export async function escrowContracts(client: ExchangeClient) {
  if (!window.ethereum) throw new Error("No wallet in this browser");
  const { indexerStatus } = await client.request(IndexerStatusDocument, {});
  const at = (name: string) => indexerStatus.contracts.find((c) => c.name === name)?.address;
  const tokenAddress = at("token");
  const escrowAddress = at("escrow");
  if (!tokenAddress || !escrowAddress) throw new Error("The API names no escrow contract (no chain configured)");
  const provider = new BrowserProvider(window.ethereum);
  provider.pollingInterval = 500;
  const signer = await provider.getSigner();
  const token = new Contract(tokenAddress, TOKEN_ABI, signer);
  const escrow = new Contract(escrowAddress, ESCROW_ABI, signer);
  const mined = async (tx: Promise<{ wait(): Promise<unknown> }>) => void (await (await tx).wait());
  return {
    /** OGPU in the wallet (not yet deposited). */
    walletBalance: async () => BigInt(await token.getFunction("balanceOf")(await signer.getAddress())),
    /** approve (when the allowance is short), then deposit. */
    async deposit(ogpu: string, step: (what: string) => void) {
      const units = parseUnits(ogpu, 18);
      const allowance = BigInt(await token.getFunction("allowance")(await signer.getAddress(), escrowAddress));
      if (allowance < units) {
        step("Approve the escrow in your wallet…");
        await mined(token.getFunction("approve")(escrowAddress, units));
      }
      step("Confirm the deposit in your wallet…");
      await mined(escrow.getFunction("deposit")(units));
    },
    requestWithdraw: (ogpu: string) => mined(escrow.getFunction("requestWithdraw")(parseUnits(ogpu, 18))),
    withdraw: () => mined(escrow.getFunction("withdraw")()),
  };
}
