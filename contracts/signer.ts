import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import {
  AbstractSigner,
  FetchRequest,
  getAddress,
  hexlify,
  resolveAddress,
  Transaction,
  TypedDataEncoder,
  verifyTypedData,
  Wallet,
  type Provider,
  type TransactionLike,
  type TransactionRequest,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/**
 * Where a transaction signer's key lives. Exactly one of the three:
 * - `privateKey`: the 0x key itself (an environment variable; fine for the dev chain, weakest in production);
 * - `keyFile`: a file outside the project holding the 0x key, or an encrypted JSON keystore (geth/ethers format)
 *   with its password in `passwordFile`; refused when group or others may read it, or when it lies inside
 *   `projectDir` (where it could be committed);
 * - `signerUrl`: a JSON-RPC signer (Clef, Web3Signer, a KMS bridge) that answers `eth_accounts` and
 *   `eth_signTransaction`: the key never enters this process. `address` picks the account (else its first).
 */
export interface SignerSource {
  privateKey?: string;
  keyFile?: string;
  passwordFile?: string;
  signerUrl?: string;
  address?: string;
  /** The project's root, for the key file's "outside the repository" check (default: the working directory). */
  projectDir?: string;
}

/** A signer source the configuration refuses, with why (a permanent start-up error). */
export class SignerConfigError extends Error {
  override name = "SignerConfigError";
}

function insideDir(file: string, dir: string): boolean {
  const rel = relative(realpathSync(dir), file);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function readSecretFile(path: string, what: string, projectDir: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch {
    throw new SignerConfigError(`${what} ${path} cannot be read`);
  }
  const info = statSync(real);
  if (!info.isFile()) throw new SignerConfigError(`${what} ${path} is not a regular file`);
  const mode = info.mode;
  if ((mode & 0o077) !== 0) throw new SignerConfigError(`${what} ${path} may be read by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  if (insideDir(real, projectDir)) throw new SignerConfigError(`${what} ${path} lies inside the project (${projectDir}); keep keys outside the repository`);
  return readFileSync(real, "utf8").trim();
}

let signerCalls = 0;

/** One JSON-RPC call to a signer service (10 s at most); its error is thrown with the service's message. */
async function signerCall(url: string, method: string, params: unknown[]): Promise<unknown> {
  const request = new FetchRequest(url);
  request.timeout = 10_000;
  request.setHeader("content-type", "application/json");
  request.body = JSON.stringify({ jsonrpc: "2.0", id: ++signerCalls, method, params });
  const response = await request.send();
  response.assertOk();
  const body = response.bodyJson as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`the signer at ${url} refused ${method}: ${body.error.message ?? "no reason given"}`);
  return body.result;
}

/**
 * A signer whose key is held by a JSON-RPC signer service: transactions are filled in here (nonce, gas, fees from the
 * chain's provider), signed remotely with `eth_signTransaction`, and sent through the chain's provider; typed data
 * (orders) is signed with `eth_signTypedData_v4`.
 */
export class RemoteSigner extends AbstractSigner {
  constructor(
    readonly url: string,
    readonly address: string,
    provider: Provider | null,
  ) {
    super(provider);
  }

  /** The signer service's account: `wanted` when it holds it, else its first; throws when it holds none (or not `wanted`). */
  static async connect(url: string, provider: Provider | null, wanted?: string): Promise<RemoteSigner> {
    const accounts = ((await signerCall(url, "eth_accounts", [])) as string[]).map((a) => getAddress(a));
    const address = wanted ? accounts.find((a) => a === getAddress(wanted)) : accounts[0];
    if (!address) throw new SignerConfigError(wanted ? `the signer at ${url} does not hold ${wanted}` : `the signer at ${url} holds no account`);
    return new RemoteSigner(url, address, provider);
  }

  override connect(provider: Provider | null): RemoteSigner {
    return new RemoteSigner(this.url, this.address, provider);
  }

  override async getAddress(): Promise<string> {
    return this.address;
  }

  override async signTransaction(tx: TransactionRequest): Promise<string> {
    const from = tx.from ? getAddress(await resolveAddress(tx.from, this.provider)) : this.address;
    if (from !== this.address) throw new Error(`RemoteSigner: transaction from ${from}, signer holds ${this.address}`);
    const filled = tx instanceof Transaction ? tx.clone() : Transaction.from({ ...(tx as TransactionLike<string>), from: undefined });
    const hex = (v: bigint | number | null | undefined) => (v === null || v === undefined ? undefined : `0x${BigInt(v).toString(16)}`);
    const request = {
      from: this.address,
      to: filled.to ?? undefined,
      data: filled.data,
      value: hex(filled.value),
      nonce: hex(filled.nonce),
      gas: hex(filled.gasLimit),
      chainId: hex(filled.chainId),
      ...(filled.type === 2 ? { maxFeePerGas: hex(filled.maxFeePerGas), maxPriorityFeePerGas: hex(filled.maxPriorityFeePerGas) } : { gasPrice: hex(filled.gasPrice) }),
    };
    const answer: unknown = await signerCall(this.url, "eth_signTransaction", [request]);
    const raw = typeof answer === "string" ? answer : (answer as { raw?: string }).raw;
    if (typeof raw !== "string") throw new Error("RemoteSigner: the signer answered eth_signTransaction without a raw transaction");
    const signed = Transaction.from(raw);
    if (signed.from !== this.address || signed.unsignedHash !== filled.unsignedHash) {
      throw new Error("RemoteSigner: the signer returned a transaction other than the one asked for");
    }
    return hexlify(signed.serialized);
  }

  override async signMessage(): Promise<string> {
    throw new Error("RemoteSigner signs transactions only");
  }

  /** EIP-712 data signed remotely with `eth_signTypedData_v4` (Clef, Web3Signer); the signature is checked to be this account's. */
  override async signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string> {
    const payload = TypedDataEncoder.getPayload(domain, types, value);
    const answer = await signerCall(this.url, "eth_signTypedData_v4", [this.address, JSON.stringify(payload)]);
    if (typeof answer !== "string") throw new Error("RemoteSigner: the signer answered eth_signTypedData_v4 without a signature");
    let by: string | undefined;
    try {
      by = getAddress(verifyTypedData(domain, types, value, answer));
    } catch {
      by = undefined;
    }
    if (by !== this.address) throw new Error("RemoteSigner: the signer returned a signature that is not its account's over the data asked for");
    return answer;
  }
}

function checked(wallet: Wallet, address: string | undefined, what: string): Wallet {
  if (address && getAddress(address) !== wallet.address) throw new SignerConfigError(`${what} holds ${wallet.address}, not ${address}`);
  return wallet;
}

/** The signer `source` describes, connected to `provider`; SignerConfigError when none or more than one is given, or it is refused. */
export async function loadSigner(source: SignerSource, provider: Provider | null): Promise<AbstractSigner> {
  const given = [source.privateKey, source.keyFile, source.signerUrl].filter((x) => x !== undefined && x !== "");
  if (given.length !== 1) throw new SignerConfigError(`give exactly one of a private key, a key file or a signer URL (${given.length} given)`);
  if (source.privateKey) return checked(new Wallet(source.privateKey), source.address, "the private key").connect(provider);
  if (source.signerUrl) return RemoteSigner.connect(source.signerUrl, provider, source.address);
  const projectDir = source.projectDir ?? process.cwd();
  const text = readSecretFile(source.keyFile!, "the key file", projectDir);
  let wallet: Wallet;
  if (/^0x[0-9a-fA-F]{64}$/.test(text)) {
    wallet = new Wallet(text);
  } else if (text.startsWith("{")) {
    if (!source.passwordFile) throw new SignerConfigError(`the key file ${source.keyFile} is an encrypted keystore: give its password file too`);
    const password = readSecretFile(source.passwordFile, "the password file", projectDir);
    try {
      wallet = new Wallet((await Wallet.fromEncryptedJson(text, password)).privateKey);
    } catch (err) {
      throw new SignerConfigError(`the keystore ${source.keyFile} could not be decrypted: ${(err as Error).message}`);
    }
  } else {
    throw new SignerConfigError(`the key file ${source.keyFile} holds neither a 0x-prefixed 32-byte hex key nor a JSON keystore`);
  }
  return checked(wallet, source.address, "the key file").connect(provider);
}
