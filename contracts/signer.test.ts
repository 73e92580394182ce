import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptKeystoreJson, Transaction, Wallet, id, parseUnits, verifyTypedData } from "ethers";
import { ORDER_TYPES, orderDomain } from "./orders";
import { buildSettlement, settleTuple } from "./batch";
import { mined, startContractsFixture, type ContractsFixture } from "./fixture";
import { escrowAt, ROLES } from "./index";
import { loadSigner, RemoteSigner, SignerConfigError } from "./signer";

/**
 * The settler's key outside the process environment: a key file (hex or keystore) outside the project with mode 600,
 * and a JSON-RPC signer service (eth_accounts, eth_signTransaction, as Clef and Web3Signer answer) that signs a real
 * Escrow.settle without this process ever holding the key.
 */
let f: ContractsFixture;
let dir: string;
const key = new Wallet(Wallet.createRandom().privateKey);

beforeAll(async () => {
  f = await startContractsFixture();
  dir = mkdtempSync(join(tmpdir(), "gx-signer-"));
  await mined(f.escrow(0).grantRole(ROLES.SETTLER_ROLE, key.address));
  await mined(f.admin.sendTransaction({ to: key.address, value: parseUnits("1", 18) }));
});
afterAll(async () => {
  await f?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function secret(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

/** A JSON-RPC signer holding `wallet`; `tamper` makes it sign something else than asked. */
async function signerService(wallet: Wallet, tamper = false): Promise<{ url: string; calls: string[]; server: Server }> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const { id: rpcId, method, params } = JSON.parse(body) as { id: number; method: string; params: (Record<string, string> | string)[] };
      calls.push(method);
      const reply = (result: unknown) => res.end(JSON.stringify({ jsonrpc: "2.0", id: rpcId, result }));
      if (method === "eth_accounts") return reply([wallet.address.toLowerCase()]);
      if (method === "eth_signTypedData_v4") {
        const { domain, types, message } = JSON.parse(String(params[1]));
        delete types.EIP712Domain;
        return reply(await wallet.signTypedData(domain, types, tamper ? { ...message, maxCost: "1" } : message));
      }
      if (method !== "eth_signTransaction") return res.end(JSON.stringify({ jsonrpc: "2.0", id: rpcId, error: { code: -32601, message: "no such method" } }));
      const p = params[0] as Record<string, string>;
      const tx = Transaction.from({
        type: p.maxFeePerGas ? 2 : 0,
        to: p.to,
        data: p.data,
        value: p.value ?? 0,
        nonce: Number(p.nonce) + (tamper ? 1 : 0),
        gasLimit: p.gas,
        chainId: p.chainId,
        ...(p.maxFeePerGas ? { maxFeePerGas: p.maxFeePerGas, maxPriorityFeePerGas: p.maxPriorityFeePerGas } : { gasPrice: p.gasPrice }),
      });
      reply({ raw: await wallet.signTransaction(tx), tx: {} });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server };
}

function batch(batchId: bigint) {
  return settleTuple(
    buildSettlement(batchId, [{ jobId: id(`job-${batchId}`), client: f.chain.accounts[3].address, provider: f.chain.accounts[4].address, debitWei: 0n, creditWei: 0n, resultHash: id("r") }]),
  );
}

it("loads a hex key file and an encrypted keystore with its password file, and checks the address", async () => {
  const hex = await loadSigner({ keyFile: secret("hex.key", `${key.privateKey}\n`) }, f.chain.provider);
  expect(await hex.getAddress()).toBe(key.address);
  const keystore = secret("keystore.json", await encryptKeystoreJson({ address: key.address, privateKey: key.privateKey }, "correct horse", { scrypt: { N: 1024 } }));
  const decrypted = await loadSigner({ keyFile: keystore, passwordFile: secret("password", "correct horse\n") }, f.chain.provider);
  expect(await decrypted.getAddress()).toBe(key.address);
  await expect(loadSigner({ keyFile: keystore, passwordFile: secret("wrong", "battery staple") }, f.chain.provider)).rejects.toThrow(/could not be decrypted/);
  await expect(loadSigner({ keyFile: keystore }, f.chain.provider)).rejects.toThrow(/password file/);
  await expect(loadSigner({ keyFile: secret("hex2.key", key.privateKey), address: f.chain.accounts[1].address }, f.chain.provider)).rejects.toThrow(/not 0x/);
});

it("refuses a key file others may read, one inside the project, one that is not a key, and two sources at once", async () => {
  await expect(loadSigner({ keyFile: secret("open.key", key.privateKey, 0o644) }, null)).rejects.toThrow(/group or others.*chmod 600/);
  await expect(loadSigner({ keyFile: secret("in-project.key", key.privateKey), projectDir: dir }, null)).rejects.toThrow(/inside the project/);
  await expect(loadSigner({ keyFile: secret("junk.key", "hello") }, null)).rejects.toThrow(/neither/);
  await expect(loadSigner({ keyFile: join(dir, "missing.key") }, null)).rejects.toThrow(/cannot be read/);
  await expect(loadSigner({ keyFile: tmpdir() }, null)).rejects.toThrow(/not a regular file/);
  await expect(loadSigner({ privateKey: key.privateKey, signerUrl: "http://127.0.0.1:1" }, null)).rejects.toBeInstanceOf(SignerConfigError);
  await expect(loadSigner({}, null)).rejects.toThrow(/exactly one/);
});

it("settles a batch on chain through a remote JSON-RPC signer that holds the settler's key", async () => {
  const service = await signerService(key);
  try {
    const signer = await loadSigner({ signerUrl: service.url }, f.chain.provider);
    expect(signer).toBeInstanceOf(RemoteSigner);
    expect(await signer.getAddress()).toBe(key.address);
    await mined(escrowAt(f.deployment.escrow, signer).getFunction("settle")(batch(901n)));
    expect(await f.escrow(0).isSettled(901n)).toBe(true);
    expect(service.calls).toEqual(["eth_accounts", "eth_signTransaction"]);
    await expect(loadSigner({ signerUrl: service.url, address: f.chain.accounts[1].address }, f.chain.provider)).rejects.toThrow(/does not hold/);
  } finally {
    service.server.close();
  }
});

it("refuses what a signer returns when it is not the transaction asked for", async () => {
  const service = await signerService(key, true);
  try {
    const signer = await RemoteSigner.connect(service.url, f.chain.provider);
    await expect(escrowAt(f.deployment.escrow, signer).getFunction("settle")(batch(902n))).rejects.toThrow(/other than the one asked for/);
    expect(await f.escrow(0).isSettled(902n)).toBe(false);
  } finally {
    service.server.close();
  }
});

it("signs an order's typed data through the remote signer (eth_signTypedData_v4) and refuses a signature over other data", async () => {
  const order = { jobId: id("remote-order"), client: key.address, maxCost: 10n ** 18n, market: id("market"), expiry: 2n ** 40n, nonce: 7n };
  const domain = orderDomain(BigInt(f.chain.chainId), f.deployment.escrow);
  const honest = await signerService(key);
  const tampering = await signerService(key, true);
  try {
    const signature = await (await RemoteSigner.connect(honest.url, null)).signTypedData(domain, ORDER_TYPES, order);
    expect(verifyTypedData(domain, ORDER_TYPES, order, signature)).toBe(key.address);
    expect(honest.calls).toEqual(["eth_accounts", "eth_signTypedData_v4"]);
    await expect((await RemoteSigner.connect(tampering.url, null)).signTypedData(domain, ORDER_TYPES, order)).rejects.toThrow(/not its account's/);
  } finally {
    honest.server.close();
    tampering.server.close();
  }
});
