import { readFileSync } from "node:fs";
import { getAddress, verifyTypedData } from "ethers";
import { ORDER_TYPES, orderDomain, type Order } from "./orders";

/** A signed order as a wallet or the API hands it over: Escrow's Order (integers as decimal strings) and its signature. */
export interface SignedOrderEntry {
  order: { jobId: string; client: string; maxCost: string; market: string; expiry: string; nonce: string };
  signature: string;
}

/** What a watchtower knows clients signed: client (checksummed) -> nonce -> maxCost. */
export type OrdersByClient = Map<string, Map<bigint, bigint>>;

/**
 * The entries whose signature is their client's over the order in this chain and escrow (the EIP-712 domain), by
 * client and nonce; `ignored` counts the others (a forged or altered order, another chain's or escrow's, a malformed
 * one). Whoever hands over the entries (a file, the API) can therefore withhold orders, never invent one.
 */
export function verifySignedOrders(entries: readonly SignedOrderEntry[], chainId: bigint, escrow: string): { byClient: OrdersByClient; ignored: number } {
  const domain = orderDomain(chainId, escrow);
  const byClient: OrdersByClient = new Map();
  let ignored = 0;
  for (const e of entries) {
    try {
      const order: Order = { ...e.order, maxCost: BigInt(e.order.maxCost), expiry: BigInt(e.order.expiry), nonce: BigInt(e.order.nonce) };
      const client = getAddress(order.client);
      if (getAddress(verifyTypedData(domain, ORDER_TYPES, order, e.signature)) !== client) throw new Error("not the client's signature");
      if (!byClient.has(client)) byClient.set(client, new Map());
      byClient.get(client)!.set(order.nonce, order.maxCost);
    } catch {
      ignored++;
    }
  }
  return { byClient, ignored };
}

/** The entries of an orders file: a JSON array of `{ order, signature }`. */
export function readOrdersFile(file: string): SignedOrderEntry[] {
  const entries = JSON.parse(readFileSync(file, "utf8")) as SignedOrderEntry[];
  if (!Array.isArray(entries)) throw new Error(`watchtower: ${file} is not a JSON array of { order, signature }`);
  return entries;
}

/** Orders per page read from the API (Me.signedOrders allows up to 500). */
const PAGE = 200;
const QUERY = `query WatchtowerSignedOrders($after: BigInt, $first: Int) { me { signedOrders(afterNonce: $after, first: $first) { orderJobId client maxCostWei market expiry nonce signature } } }`;

interface ApiOrder {
  orderJobId: string;
  client: string;
  maxCostWei: string;
  market: string;
  expiry: string;
  nonce: string;
  signature: string;
}

/**
 * The signed orders the marketplace at `apiUrl` (its GraphQL endpoint) stored for the account `token` signs in as
 * (a session token or an API key) with a nonce above `afterNonce` (all when null), paged by nonce; `last` is the
 * highest nonce read (`afterNonce` when none), to ask from next time. The entries still have to pass
 * {@link verifySignedOrders}.
 */
export async function fetchSignedOrders(apiUrl: string, token: string, afterNonce: bigint | null = null, fetchImpl: typeof fetch = fetch): Promise<{ entries: SignedOrderEntry[]; last: bigint | null }> {
  const out: SignedOrderEntry[] = [];
  let after: string | null = afterNonce === null ? null : afterNonce.toString();
  for (;;) {
    const res = await fetchImpl(apiUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY, operationName: "WatchtowerSignedOrders", variables: { after, first: PAGE } }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body: { data?: { me?: { signedOrders?: ApiOrder[] } }; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`watchtower: ${apiUrl} answered HTTP ${res.status} with no GraphQL response`);
    }
    if (body.errors?.length) throw new Error(`watchtower: ${apiUrl} refused the signed orders: ${body.errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; ")}`);
    const page = body.data?.me?.signedOrders;
    if (!Array.isArray(page)) throw new Error(`watchtower: ${apiUrl} answered HTTP ${res.status} without me.signedOrders`);
    if (page.length > 0) after = page[page.length - 1].nonce;
    for (const o of page) out.push({ order: { jobId: o.orderJobId, client: o.client, maxCost: o.maxCostWei, market: o.market, expiry: o.expiry, nonce: o.nonce }, signature: o.signature });
    if (page.length < PAGE) return { entries: out, last: after === null ? null : BigInt(after) };
  }
}
