import { ExchangeClient, MeDocument, walletAuth, type Eip1193Provider, type Session } from "@gpu-exchange/sdk";

/**
 * Signs in with a wallet (in a browser: `window.ethereum`; any EIP-1193 provider or ethers Signer) and reads the
 * account. The first request signs in; the session is renewed before it expires, or when the API refuses it.
 */
export async function signInAndReadAccount(url: string, ethereum: Eip1193Provider, keep: (session: Session) => void) {
  const client = new ExchangeClient({ url, auth: walletAuth({ signer: ethereum, onSession: keep }) });
  const { me } = await client.request(MeDocument, {});
  return { client, address: me.address, availableOgpu: me.escrow.available };
}
