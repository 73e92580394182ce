/**
 * `npm run watchtower -- --rpc URL --chain-id N --escrow ADDRESS --orders FILE [--clients A,B] [--key-file PATH |
 * --signer-url URL] [--from-block N] [--poll-ms 2000] [--once]`: the watchtower as a process. It guards the clients
 * whose signed orders are in FILE (a JSON array of `{ order, signature }`, re-read every poll so a wallet can append to
 * it; an entry whose signature is not its client's is ignored) or the `--clients` given, challenges every batch entry
 * of theirs that those orders do not cover, and resolves its challenges once their deadline has passed. It signs its
 * challenges with `--key-file` (mode 600, outside the project), `--signer-url`, or WATCHTOWER_PRIVATE_KEY. Prints one
 * JSON line per entry it looked at; `--once` polls once and exits (exit 1 on an error).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getAddress, verifyTypedData } from "ethers";
import { escrowAt } from "./index";
import { ORDER_TYPES, orderDomain, type Order } from "./orders";
import { createRpcProvider } from "./rpc";
import { loadSigner } from "./signer";
import { Watchtower } from "./watchtower";

interface OrderFileEntry {
  order: { jobId: string; client: string; maxCost: string; market: string; expiry: string; nonce: string };
  signature: string;
}

/** The orders in `file` whose signature is their client's: client (checksummed) -> nonce -> maxCost. */
export function readSignedOrders(file: string, chainId: bigint, escrow: string): { byClient: Map<string, Map<bigint, bigint>>; ignored: number } {
  const entries = JSON.parse(readFileSync(file, "utf8")) as OrderFileEntry[];
  if (!Array.isArray(entries)) throw new Error(`watchtower: ${file} is not a JSON array of { order, signature }`);
  const domain = orderDomain(chainId, escrow);
  const byClient = new Map<string, Map<bigint, bigint>>();
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      "chain-id": { type: "string" },
      escrow: { type: "string" },
      orders: { type: "string" },
      clients: { type: "string" },
      "key-file": { type: "string" },
      "signer-url": { type: "string" },
      "from-block": { type: "string", default: "0" },
      "poll-ms": { type: "string", default: "2000" },
      once: { type: "boolean", default: false },
    },
  });
  const need = (k: keyof typeof values) => {
    const v = values[k];
    if (typeof v !== "string" || v === "") throw new Error(`watchtower: --${k} is required`);
    return v;
  };
  const chainId = BigInt(need("chain-id"));
  const escrowAddress = getAddress(need("escrow"));
  const ordersFile = need("orders");
  const provider = createRpcProvider(need("rpc"), chainId);
  const signer = await loadSigner(
    { keyFile: values["key-file"], signerUrl: values["signer-url"], privateKey: values["key-file"] || values["signer-url"] ? undefined : process.env.WATCHTOWER_PRIVATE_KEY },
    provider,
  );
  let orders = readSignedOrders(ordersFile, chainId, escrowAddress);
  const given = values.clients ? values.clients.split(",").map((c) => getAddress(c.trim())) : undefined;
  const clients = () => given ?? [...orders.byClient.keys()];
  const tower = new Watchtower(escrowAt(escrowAddress, signer), (client) => orders.byClient.get(getAddress(client)) ?? new Map(), { fromBlock: Number(values["from-block"]), clients });
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  say({ msg: "watchtower started", escrow: escrowAddress, account: await signer.getAddress(), clients: clients(), ignoredOrders: orders.ignored });
  const pollMs = Number(values["poll-ms"]);
  for (;;) {
    for (const finding of await tower.poll()) say(finding);
    if (values.once) break;
    await new Promise((r) => setTimeout(r, pollMs));
    orders = readSignedOrders(ordersFile, chainId, escrowAddress);
  }
  provider.destroy();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`watchtower failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
