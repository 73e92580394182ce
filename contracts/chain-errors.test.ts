import { Interface, makeError } from "ethers";
import { classifyChainError, decodeRevert } from "./chain-errors";
import { abiOf } from "./index";

const revert = (name: string, args: unknown[] = []) => makeError("execution reverted", "CALL_EXCEPTION", { action: "estimateGas", data: "0x", reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: { name, signature: `${name}()`, args } });

describe("classifyChainError", () => {
  it.each([
    ["geth: no gas money", new Error("insufficient funds for gas * price + value: address 0x1 have 0 want 1")],
    ["ethers INSUFFICIENT_FUNDS", makeError("insufficient funds for intrinsic transaction cost", "INSUFFICIENT_FUNDS", { transaction: {} })],
    ["hardhat: no gas money", new Error("Sender doesn't have enough funds to send tx. The max upfront cost is: 1 and the sender's account only has: 0")],
    ["geth estimate without gas money", new Error("gas required exceeds allowance (0)")],
    ["nonce too low", makeError("nonce has already been used", "NONCE_EXPIRED", { transaction: {} })],
    ["replacement underpriced", new Error("replacement transaction underpriced")],
    ["timeout", makeError("request timeout", "TIMEOUT", {})],
    ["refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" })],
    ["paused", revert("EnforcedPause")],
    ["no settler role", revert("AccessControlUnauthorizedAccount", ["0x1", "0x2"])],
    ["unknown", new Error("something odd")],
  ])("%s is retryable", (_what, err) => {
    expect(classifyChainError(err).retryable).toBe(true);
  });

  it.each([
    ["a decoded custom error", revert("InsufficientBalance", ["0xabc", 5n, 10n]), "InsufficientBalance(0xabc, 5, 10)"],
    ["a revert message", new Error("execution reverted: CreditsExceedDebits"), "execution reverted: CreditsExceedDebits"],
    ["a reverted receipt", new Error("settle of batch 7 reverted on chain"), "settle of batch 7 reverted on chain"],
    ["too big for a block", new Error("exceeds block gas limit"), "exceeds block gas limit"],
  ])("%s is permanent", (_what, err, reason) => {
    expect(classifyChainError(err)).toEqual({ retryable: false, reason });
  });
});

test("decodeRevert names the contract's custom error in a node's undecoded revert", () => {
  const iface = new Interface(abiOf("Escrow"));
  const client = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
  const data = iface.encodeErrorResult("InsufficientBalance", [client, 0n, 5n]);
  const err = decodeRevert(new Error(`VM Exception while processing transaction: reverted with an unrecognized custom error (return data: ${data})`), iface);
  expect(classifyChainError(err)).toEqual({ retryable: false, reason: `InsufficientBalance(${client}, 0, 5)` });
  expect(classifyChainError(decodeRevert(new Error("socket hang up"), iface)).retryable).toBe(true);
});
