import type { AnyVariables, TypedDocumentNode } from "@urql/core";
import { AuthChallengeDocument, SignInDocument } from "./generated/graphql";

/** What an {@link Auth} needs of the client to sign in: anonymous requests of the contract's operations. */
export interface Requester {
  request<D, V extends AnyVariables>(document: TypedDocumentNode<D, V>, variables: V, options?: { anonymous?: boolean; signal?: AbortSignal }): Promise<D>;
}

/**
 * Credentials of an {@link ExchangeClient}: what to send as `Authorization: Bearer <credential>` (HTTP) and
 * `connectionParams.authorization` (WebSocket).
 */
export interface Auth {
  /** The credential to send now, signing in first when there is none or it is about to expire; undefined: none. */
  credential(): Promise<string | undefined>;
  /** The credential held now, without signing in (for synchronous transports such as urql's fetchOptions). */
  peek(): string | undefined;
  /** The API refused `rejected`: get a new credential; true when there is one to retry with. */
  refresh?(rejected: string | undefined): Promise<boolean>;
  /** Called by the client it is given to (wallet sign-in sends its own requests through it). */
  attach?(client: Requester): void;
}

/** A fixed credential: an API key (`gx_...`) or a session token from elsewhere. It is never renewed. */
export function apiKeyAuth(key: string): Auth {
  return { credential: async () => key, peek: () => key };
}

/** An EIP-1193 provider: `window.ethereum`, WalletConnect's, or any object with `request`. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>;
}

/** What signs sign-in messages (EIP-191 personal_sign). An ethers v6 Signer (Wallet, JsonRpcSigner) is one as it is. */
export interface MessageSigner {
  getAddress(): Promise<string>;
  signMessage(message: string): Promise<string>;
  /** The chain the signer is on, to name in the challenge (the server refuses another chain than its own, saying so). */
  getChainId?(): Promise<bigint | undefined>;
}

/** A session from `signIn`: its token, the signed-in address and when the token expires (ISO-8601). */
export interface Session {
  token: string;
  address: string;
  expiresAt: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A string's UTF-8 bytes as 0x-prefixed hex (personal_sign's data parameter). */
export function utf8ToHex(text: string): string {
  let out = "0x";
  for (const byte of new TextEncoder().encode(text)) out += HEX[byte];
  return out;
}

/**
 * A {@link MessageSigner} over an EIP-1193 provider: the address from `eth_requestAccounts` (or the one given), the
 * chain from `eth_chainId`, signatures from `personal_sign` with the message as UTF-8 hex.
 */
export function eip1193Signer(provider: Eip1193Provider, options: { address?: string } = {}): MessageSigner {
  let address = options.address;
  const getAddress = async () => {
    if (address) return address;
    const accounts = (await provider.request({ method: "eth_requestAccounts" })) as unknown;
    if (!Array.isArray(accounts) || typeof accounts[0] !== "string") throw new Error("the wallet gave no account");
    address = accounts[0];
    return address;
  };
  return {
    getAddress,
    async signMessage(message: string) {
      const signature = await provider.request({ method: "personal_sign", params: [utf8ToHex(message), await getAddress()] });
      if (typeof signature !== "string") throw new Error("the wallet gave no signature");
      return signature;
    },
    async getChainId() {
      const id = await provider.request({ method: "eth_chainId" });
      return typeof id === "string" || typeof id === "number" ? BigInt(id) : undefined;
    },
  };
}

function isProvider(value: unknown): value is Eip1193Provider {
  return typeof (value as Eip1193Provider).request === "function" && typeof (value as MessageSigner).signMessage !== "function";
}

/** The chain an ethers Signer's provider is on, if it has one. */
async function chainOf(signer: MessageSigner): Promise<bigint | undefined> {
  if (signer.getChainId) return signer.getChainId();
  const provider = (signer as { provider?: { getNetwork?: () => Promise<{ chainId: bigint }> } | null }).provider;
  return provider?.getNetwork ? (await provider.getNetwork()).chainId : undefined;
}

/** Options of {@link walletAuth}. */
export interface WalletAuthOptions {
  /** An EIP-1193 provider or a message signer (an ethers Signer). */
  signer: Eip1193Provider | MessageSigner;
  /** The chain to name in the challenge; by default the signer's (when it can tell), null for the server's own. */
  chainId?: bigint | null;
  /** A session kept from before (a stored one), used while it lasts. */
  session?: Session;
  /** Called with every new session (to store it). */
  onSession?(session: Session): void;
  /** Sign in again when less than this is left of the session (default 60 s). */
  renewBeforeMs?: number;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
}

/** Wallet sign-in as an {@link Auth}, with the session at hand. */
export interface WalletAuth extends Auth {
  /** Signs in now (EIP-4361 challenge from authChallenge, signed, sent to signIn) and keeps the session. */
  signIn(options?: { signal?: AbortSignal }): Promise<Session>;
  /** The session held now, if any. */
  session(): Session | undefined;
  /** Forgets the session (the next request signs in again). */
  signOut(): void;
}

/**
 * Sign-in with an Ethereum wallet (EIP-4361): the first request that needs a credential signs in, a session about to
 * expire is renewed before it is sent, and one the API refuses (expired, the server's key changed) is renewed and the
 * request sent again. Concurrent requests share one sign-in. Give it to an {@link ExchangeClient}, which it signs in
 * through.
 */
export function walletAuth(options: WalletAuthOptions): WalletAuth {
  const signer: MessageSigner = isProvider(options.signer) ? eip1193Signer(options.signer) : options.signer;
  const now = options.now ?? Date.now;
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  let client: Requester | undefined;
  let current = options.session;
  let pending: Promise<Session> | undefined;

  const fresh = (s: Session | undefined): s is Session => s !== undefined && Date.parse(s.expiresAt) - now() > renewBeforeMs;

  async function signInOnce(signal?: AbortSignal): Promise<Session> {
    if (!client) throw new Error("walletAuth: give it to an ExchangeClient first (new ExchangeClient({ url, auth }))");
    const address = await signer.getAddress();
    const chainId = options.chainId === undefined ? await chainOf(signer) : options.chainId;
    const { authChallenge } = await client.request(AuthChallengeDocument, { address, chainId: chainId === null || chainId === undefined ? null : chainId.toString() }, { anonymous: true, signal });
    const signature = await signer.signMessage(authChallenge.message);
    const { signIn } = await client.request(SignInDocument, { message: authChallenge.message, signature }, { anonymous: true, signal });
    current = { token: signIn.token, address: signIn.address, expiresAt: signIn.expiresAt };
    options.onSession?.(current);
    return current;
  }

  function signIn(opts: { signal?: AbortSignal } = {}): Promise<Session> {
    pending ??= signInOnce(opts.signal).finally(() => (pending = undefined));
    return pending;
  }

  return {
    attach(c) {
      client = c;
    },
    async credential() {
      if (fresh(current)) return current.token;
      return (await signIn()).token;
    },
    peek: () => current?.token,
    async refresh(rejected) {
      if (current && current.token !== rejected && fresh(current)) return true;
      current = undefined;
      await signIn();
      return true;
    },
    signIn,
    session: () => current,
    signOut() {
      current = undefined;
    },
  };
}
