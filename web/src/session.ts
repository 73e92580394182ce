import { ExchangeClient, MyAccountDocument, walletAuth, type Eip1193Provider, type MyAccountQuery, type Session, type WalletAuth } from "@gpu-exchange/sdk";

/** The API this page was served by. */
export const GRAPHQL_URL = new URL("/graphql", location.origin).toString();

/** The public operations (markets, books, trades): no credential. */
export const publicClient = new ExchangeClient({ url: GRAPHQL_URL });

const STORE = "gx.session";
declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export interface SignedIn {
  client: ExchangeClient;
  auth: WalletAuth;
  address: string;
}

let current: SignedIn | undefined;
const listeners = new Set<(s: SignedIn | undefined) => void>();

export const signedIn = () => current;

/** Calls `fn` now and whenever the wallet connects or disconnects; returns the unsubscribe. */
export function onSignedIn(fn: (s: SignedIn | undefined) => void): () => void {
  listeners.add(fn);
  fn(current);
  return () => listeners.delete(fn);
}

function set(next: SignedIn | undefined) {
  void current?.client.close();
  current = next;
  for (const fn of listeners) fn(current);
}

function stored(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE) ?? "null") as Session | null;
    return s && Date.parse(s.expiresAt) > Date.now() + 60_000 ? s : undefined;
  } catch {
    return undefined;
  }
}

function clientFor(ethereum: Eip1193Provider, session?: Session): { client: ExchangeClient; auth: WalletAuth } {
  const auth = walletAuth({ signer: ethereum, session, onSession: (s) => sessionStorage.setItem(STORE, JSON.stringify(s)) });
  return { client: new ExchangeClient({ url: GRAPHQL_URL, auth }), auth };
}

/** Connects the browser's wallet (window.ethereum) and signs in with it (EIP-4361 through the SDK). */
export async function connectWallet(): Promise<SignedIn> {
  const ethereum = window.ethereum;
  if (!ethereum) throw new Error("No wallet found: install a browser wallet (EIP-1193, such as MetaMask) and reload.");
  const { client, auth } = clientFor(ethereum);
  const session = await auth.signIn();
  const me: SignedIn = { client, auth, address: session.address };
  set(me);
  return me;
}

/** A session kept from before in this tab, used again while it lasts (the wallet signs again only when it lapses). */
export function restoreSession(): void {
  const session = stored();
  if (!session || !window.ethereum) return;
  const { client, auth } = clientFor(window.ethereum, session);
  set({ client, auth, address: session.address });
}

export function disconnect(): void {
  current?.auth.signOut();
  sessionStorage.removeItem(STORE);
  set(undefined);
}

export type Account = MyAccountQuery["me"];

export async function myAccount(s: SignedIn): Promise<Account> {
  return (await s.client.request(MyAccountDocument, {})).me;
}
