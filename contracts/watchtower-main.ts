/**
 * `npm run watchtower -- --rpc URL --chain-id N --escrow ADDRESS (--orders FILE | --api URL [--api-token-file PATH])
 * [--clients A,B] [--key-file PATH | --signer-url URL] [--from-block N] [--poll-ms 2000] [--once]`: the watchtower as
 * a process. It guards the clients whose signed orders it holds, or the `--clients` given, challenges every batch
 * entry of theirs that those orders do not cover, and resolves its challenges once their deadline has passed. The
 * orders come from FILE (a JSON array of `{ order, signature }`, re-read every poll so a wallet can append to it),
 * from the marketplace's API (`me { signedOrders }` of the account the token signs in as: a session token or an API
 * key, from `--api-token-file` or WATCHTOWER_API_TOKEN; new ones are read every poll), or both. Either way an entry
 * whose signature is not its client's over this chain's and escrow's order is ignored: the API can withhold an order
 * (its own batch is then challenged, and it answers), never invent one. It signs its challenges with `--key-file`
 * (mode 600, outside the project), `--signer-url`, or WATCHTOWER_PRIVATE_KEY. Prints one JSON line per entry it
 * looked at; `--once` polls once and exits (exit 1 on an error).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getAddress } from "ethers";
import { escrowAt } from "./index";
import { createRpcProvider } from "./rpc";
import { loadSigner } from "./signer";
import { Watchtower } from "./watchtower";
import { fetchSignedOrders, readOrdersFile, verifySignedOrders, type OrdersByClient, type SignedOrderEntry } from "./watchtower-orders";

/** The token to read the API's signed orders with: the file's first line, or WATCHTOWER_API_TOKEN. */
function apiToken(file: string | undefined): string {
  const token = file ? readFileSync(file, "utf8").split("\n")[0].trim() : process.env.WATCHTOWER_API_TOKEN?.trim();
  if (!token) throw new Error("watchtower: --api needs a session token or API key: --api-token-file PATH or WATCHTOWER_API_TOKEN");
  return token;
}

/** The orders of the file (re-read whole each time) and of the API (only those above the last nonce read) together. */
class OrderSources {
  private fromApi: SignedOrderEntry[] = [];
  private apiAfter: bigint | null = null;
  byClient: OrdersByClient = new Map();
  ignored = 0;

  constructor(
    private readonly scope: { chainId: bigint; escrow: string },
    private readonly file: string | undefined,
    private readonly api: { url: string; token: string } | undefined,
  ) {}

  async refresh(): Promise<void> {
    if (this.api) {
      const page = await fetchSignedOrders(this.api.url, this.api.token, this.apiAfter);
      this.fromApi.push(...page.entries);
      this.apiAfter = page.last;
    }
    const entries = [...(this.file ? readOrdersFile(this.file) : []), ...this.fromApi];
    ({ byClient: this.byClient, ignored: this.ignored } = verifySignedOrders(entries, this.scope.chainId, this.scope.escrow));
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      "chain-id": { type: "string" },
      escrow: { type: "string" },
      orders: { type: "string" },
      api: { type: "string" },
      "api-token-file": { type: "string" },
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
  if (!values.orders && !values.api) throw new Error("watchtower: --orders FILE or --api URL is required (where the clients' signed orders come from)");
  const orders = new OrderSources({ chainId, escrow: escrowAddress }, values.orders, values.api ? { url: values.api, token: apiToken(values["api-token-file"]) } : undefined);
  await orders.refresh();
  const provider = createRpcProvider(need("rpc"), chainId);
  const signer = await loadSigner(
    { keyFile: values["key-file"], signerUrl: values["signer-url"], privateKey: values["key-file"] || values["signer-url"] ? undefined : process.env.WATCHTOWER_PRIVATE_KEY },
    provider,
  );
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
    // an API or file that cannot be read this time leaves the orders as they were; the next poll tries again
    await orders.refresh().catch((err: unknown) => say({ msg: "orders not refreshed", error: err instanceof Error ? err.message : String(err) }));
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
