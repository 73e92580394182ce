import { Wallet, id } from "ethers";
import { orderDomain, signOrder, type Order } from "./orders";
import { fetchSignedOrders, verifySignedOrders, type SignedOrderEntry } from "./watchtower-orders";

/** The watchtower's check of the orders it is handed (by a file or the API): only the client's own signature counts. */
const CHAIN = 200820172034n;
const ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const client = Wallet.createRandom();
const other = Wallet.createRandom();
const order: Order = { jobId: id("job"), client: client.address, maxCost: 3n * 10n ** 18n, market: id("market"), expiry: 1_900_000_000n, nonce: 7n };
const entry = (o: Order, signature: string): SignedOrderEntry => ({ order: { ...o, maxCost: String(o.maxCost), expiry: String(o.expiry), nonce: String(o.nonce) }, signature });

test("keeps the client's signed orders and ignores forged, altered, other-scope and malformed ones", async () => {
  const domain = orderDomain(CHAIN, ESCROW);
  const good = entry(order, await signOrder(client, domain, order));
  const second: Order = { ...order, nonce: 8n, maxCost: 5n };
  const entries = [
    good,
    entry(second, await signOrder(client, domain, second)),
    // signed by someone else in the client's name
    entry({ ...order, nonce: 9n, maxCost: 10n ** 24n }, await signOrder(other, domain, { ...order, nonce: 9n, maxCost: 10n ** 24n })),
    // the client's signature, with maxCost raised afterwards
    { ...good, order: { ...good.order, nonce: "10", maxCost: String(10n ** 24n) } },
    // the client's signature for another chain and for another escrow
    entry({ ...order, nonce: 11n }, await signOrder(client, orderDomain(1071n, ESCROW), { ...order, nonce: 11n })),
    entry({ ...order, nonce: 12n }, await signOrder(client, orderDomain(CHAIN, Wallet.createRandom().address), { ...order, nonce: 12n })),
    // malformed
    { ...good, order: { ...good.order, nonce: "x" } },
    { ...good, signature: "0x12" },
  ];
  const { byClient, ignored } = verifySignedOrders(entries, CHAIN, ESCROW);
  expect(ignored).toBe(6);
  expect([...byClient.keys()]).toEqual([client.address]);
  expect([...byClient.get(client.address)!.entries()]).toEqual([
    [7n, 3n * 10n ** 18n],
    [8n, 5n],
  ]);
});

/** A GraphQL endpoint that serves `count` orders with nonces 0.. by page, recording the pages asked for. */
function fakeApi(count: number, asked: { after: string | null; first: number; auth: string | null }[]): typeof fetch {
  return (async (_url: string, init: RequestInit) => {
    const { variables } = JSON.parse(String(init.body)) as { variables: { after: string | null; first: number } };
    asked.push({ ...variables, auth: new Headers(init.headers).get("authorization") });
    const start = variables.after === null ? 0 : Number(variables.after) + 1;
    const page = Array.from({ length: Math.max(0, Math.min(variables.first, count - start)) }, (_, i) => ({
      orderJobId: id(`job-${start + i}`),
      client: client.address,
      maxCostWei: "1",
      market: id("m"),
      expiry: "1900000000",
      nonce: String(start + i),
      signature: "0x00",
    }));
    return new Response(JSON.stringify({ data: { me: { signedOrders: page } } }));
  }) as typeof fetch;
}

test("reads every order from the API page by page, then only those above the last nonce read", async () => {
  const asked: { after: string | null; first: number; auth: string | null }[] = [];
  const all = await fetchSignedOrders("http://api/graphql", "tok", null, fakeApi(450, asked));
  expect(all.entries.map((e) => e.order.nonce)).toEqual(Array.from({ length: 450 }, (_, i) => String(i)));
  expect(all.last).toBe(449n);
  expect(asked.map((a) => a.after)).toEqual([null, "199", "399"]);
  expect(asked.every((a) => a.auth === "Bearer tok")).toBe(true);
  const none = await fetchSignedOrders("http://api/graphql", "tok", 449n, fakeApi(450, asked));
  expect(none).toEqual({ entries: [], last: 449n });
});

test("an API error or a non-GraphQL answer is an error, not an empty list of orders", async () => {
  const refusing = (async () => new Response(JSON.stringify({ errors: [{ message: "sign in first", extensions: { code: "UNAUTHENTICATED" } }] }))) as unknown as typeof fetch;
  await expect(fetchSignedOrders("http://api/graphql", "bad", null, refusing)).rejects.toThrow("UNAUTHENTICATED: sign in first");
  const broken = (async () => new Response("<html>502</html>", { status: 502 })) as unknown as typeof fetch;
  await expect(fetchSignedOrders("http://api/graphql", "tok", null, broken)).rejects.toThrow("HTTP 502");
});
