/**
 * The local nodes the chain benchmark runs on: the in-process Hardhat dev chain, and anvil (the binary that the
 * `@foundry-rs/anvil` package ships), each with the standard test mnemonic's account #0 as the contracts' admin.
 */
import { spawn } from "node:child_process";
import { Wallet, type JsonRpcProvider } from "ethers";
import { deriveAccounts, DEV_MNEMONIC, startDevChain } from "../contracts/dev-chain";
import { createRpcProvider } from "../contracts/rpc";
import { freePort } from "./client";

export interface BenchNode {
  name: string;
  url: string;
  /** The same node over WebSocket (for a newHeads subscription). */
  wsUrl: string;
  chainId: number;
  provider: JsonRpcProvider;
  admin: Wallet;
  stop(): Promise<void>;
}

export async function hardhatNode(): Promise<BenchNode> {
  const chain = await startDevChain({ port: await freePort() });
  // a generous deadline: mining a block of the mix takes seconds on a loaded machine
  const provider = createRpcProvider(chain.url, chain.chainId, { pollingIntervalMs: 50, timeoutMs: 60_000 });
  const admin = new Wallet(chain.accounts[0].privateKey, provider);
  return {
    name: "Hardhat 2 (in-process, EDR)",
    url: chain.url,
    wsUrl: chain.url.replace(/^http/, "ws"),
    chainId: chain.chainId,
    provider,
    admin,
    async stop() {
      provider.destroy();
      await chain.stop();
    },
  };
}

/** The anvil binary of the platform package that `@foundry-rs/anvil` depends on. */
function anvilBinary(): string {
  const pkg = `@foundry-rs/anvil-${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  return require.resolve(`${pkg}/bin/anvil`);
}

export async function anvilNode(): Promise<BenchNode> {
  const port = await freePort();
  const child = spawn(anvilBinary(), ["--port", String(port), "--host", "127.0.0.1", "--chain-id", "31337", "--silent", "--gas-limit", "30000000", "--mnemonic", DEV_MNEMONIC], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const provider = createRpcProvider(url, 31337, { pollingIntervalMs: 50, timeoutMs: 60_000 });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await provider.send("eth_blockNumber", []);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const admin = new Wallet(deriveAccounts(DEV_MNEMONIC, 1)[0].privateKey, provider);
  return {
    name: "anvil 1.7 (@foundry-rs/anvil)",
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    chainId: 31337,
    provider,
    admin,
    async stop() {
      provider.destroy();
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
