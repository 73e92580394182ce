import { TypedDataEncoder, Wallet, verifyTypedData } from "ethers";
import type { ExchangeClient } from "./client";
import { signedJobInput } from "./order";

/** An API that answers prepareJobOrder with `message` (an order for `wallet` unless changed). */
function apiAnswering(wallet: { address: string }, change: Record<string, string> = {}, domainChange: Record<string, unknown> = {}) {
  const jobId = "0b8f2d6e-6d4a-4b59-9a52-6f3f5a1c2e11";
  const domain = { name: "gpu-exchange Escrow", version: "1", chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000e5c40", ...domainChange };
  const types = { Order: [{ name: "jobId", type: "bytes32" }, { name: "client", type: "address" }, { name: "maxCost", type: "uint256" }, { name: "market", type: "bytes32" }, { name: "expiry", type: "uint64" }, { name: "nonce", type: "uint256" }] };
  const message = { jobId: `0x${jobId.replace(/-/g, "")}${"0".repeat(32)}`, client: wallet.address, maxCost: "500000000000000000", market: `0x${"ab".repeat(32)}`, expiry: "1900000000", nonce: "4", ...change };
  const typedData = JSON.stringify(TypedDataEncoder.getPayload(domain, types, message));
  const draft = { jobId, client: wallet.address, maxCost: "0.5", nonce: "4", expiry: "1900000000", digest: TypedDataEncoder.hash(domain, types, message), typedData };
  return { client: { request: async () => ({ prepareJobOrder: draft }) } as unknown as ExchangeClient, domain, types, message };
}

const input = { kind: "BATCH", command: ["true"], requirements: { gpuCount: 1, minVramGb: 24, maxDurationSeconds: 600, maxPricePerGpuHour: "3" } } as never;

test("signs the API's order with the wallet and returns the input with it, and the signed maxCost", async () => {
  const wallet = Wallet.createRandom();
  const api = apiAnswering(wallet);
  const { input: signed, maxCostWei } = await signedJobInput(api.client, input, wallet, { chainId: 31337n, escrow: "0x00000000000000000000000000000000000e5c40" });
  expect(maxCostWei).toBe(5n * 10n ** 17n);
  const order = (signed as { order: { signature: string; nonce: string } }).order;
  expect(order.nonce).toBe("4");
  expect(verifyTypedData(api.domain, api.types, api.message, order.signature)).toBe(wallet.address);
});

test.each([
  ["another client", { client: Wallet.createRandom().address }, {}, /signer is/],
  ["another job", { jobId: `0x${"11".repeat(32)}` }, {}, /jobId/],
  ["another nonce", { nonce: "5" }, {}, /nonce or expiry/],
  ["another chain", {}, { chainId: 1 }, /chain 1/],
  ["another escrow", {}, { verifyingContract: "0x00000000000000000000000000000000000000aa" }, /escrow/],
])("refuses to sign an order for %s", async (_what, change, domainChange, message) => {
  const wallet = Wallet.createRandom();
  const signTypedData = jest.spyOn(wallet, "signTypedData");
  await expect(signedJobInput(apiAnswering(wallet, change as Record<string, string>, domainChange).client, input, wallet, { chainId: 31337n, escrow: "0x00000000000000000000000000000000000e5c40" })).rejects.toThrow(message);
  expect(signTypedData).not.toHaveBeenCalled();
});
