/**
 * The list reads a provider's console and a client's dashboard make (issue 14, part 3), beside the offers page: the
 * offers page as a signed-in caller reads it (never served from the response cache), `myJobs`, `trades` and
 * `settlements`, each its first 50. Seeded in a market of its own (L40S 48 GB), so the H100 book that the other read
 * scenarios check is untouched and the jobs phase's A100 market stays empty.
 */
import { Wallet } from "ethers";
import type { Client } from "pg";
import { contractOperation, must, OFFERS, POST_OFFER, REGISTER_NODE, HEARTBEAT, signIn, SUBMIT_JOB } from "./client";

export interface Scenario {
  name: string;
  description: string;
  query: string;
  variables: Record<string, unknown>;
  /** A session token the requests carry; anonymous when absent. */
  token?: string;
  /** Checks one sample answer's data; returns a short description of it. */
  check(data: Record<string, unknown>): string;
}

const MY_JOBS = contractOperation("jobs.graphql", "MyJobs");
const TRADES = contractOperation("market.graphql", "Trades");
const SETTLEMENTS = contractOperation("settlement.graphql", "Settlements");

export const LIST_MARKET = "L40S-48GB";
const GPU = { model: "NVIDIA L40S", vramGb: 48, count: 8 };
const NODES = 8;
const MATCHED = 60;
const RESTING = 60;
const BATCHES = 120;

export interface ListSeed {
  providerToken: string;
  clientToken: string;
  jobs: number;
  trades: number;
  settlements: number;
}

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`seeding list reads: ${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One provider with 8 nodes of 8 GPUs, and one client with 120 jobs of 1 GPU: 60 placed on those nodes (60 trades)
 * and 60 resting above the price. Settlement batches are written to the table directly (the bench runs no chain).
 */
export async function seedListReads(url: string, pg: Client): Promise<ListSeed> {
  const providerToken = await signIn(url, Wallet.createRandom());
  const client = Wallet.createRandom();
  const clientToken = await signIn(url, client);
  await pg.query(
    `INSERT INTO escrow_balances (account_id, deposited_wei) SELECT id, 10::numeric ^ 27 FROM accounts WHERE address = $1
     ON CONFLICT (account_id) DO UPDATE SET deposited_wei = excluded.deposited_wei`,
    [client.address.toLowerCase()],
  );
  for (let i = 0; i < NODES; i++) {
    const node = await must(url, `registerNode L40S ${i}`, REGISTER_NODE, { input: { name: `bench-l40s-${i}`, region: "eu-central", gpus: [GPU] } }, providerToken);
    const nodeId = (node.registerNode as { id: string }).id;
    await must(url, "heartbeat", HEARTBEAT, { nodeId }, providerToken);
    await must(url, "postOffer L40S", POST_OFFER, { input: { nodeId, pricePerGpuHour: "1.5", gpuCount: GPU.count } }, providerToken);
  }
  const submit = (cap: string) =>
    must(
      url,
      "submitJob L40S",
      SUBMIT_JOB,
      { input: { kind: "INFERENCE", image: "bench/list:1", requirements: { gpuCount: 1, minVramGb: 48, gpuModels: ["L40S"], maxPricePerGpuHour: cap, maxDurationSeconds: 600 } } },
      clientToken,
    );
  for (let i = 0; i < MATCHED; i++) await submit("2");
  await until(`${MATCHED} L40S trades`, async () => Number((await pg.query(`SELECT count(*) AS n FROM trades WHERE market = $1`, [LIST_MARKET])).rows[0].n) >= MATCHED);
  for (let i = 0; i < RESTING; i++) await submit("1");
  await pg.query(
    `INSERT INTO settlements (chain_id, escrow, status, job_count, total_amount, fee_amount, merkle_root, payload, tx_hash, block_number, gas_used, submitted_at, confirmed_at)
     SELECT 31337, '0x' || repeat('e', 40), 'CONFIRMED', 10, 10::numeric ^ 19, 0, '0x' || repeat('a', 64), '{}'::jsonb,
            '0x' || lpad(to_hex(g), 64, '0'), 1000 + g, 50000 + g, now(), now()
       FROM generate_series(1, $1::int) g`,
    [BATCHES],
  );
  return { providerToken, clientToken, jobs: MATCHED + RESTING, trades: MATCHED, settlements: BATCHES };
}

function edgesOf(data: Record<string, unknown>, field: string): unknown[] {
  const page = data[field] as { edges?: unknown[] } | undefined;
  if (!page?.edges) throw new Error(`${field} has no edges`);
  return page.edges;
}

/** The scenarios, once seeded (they carry the seed's tokens). */
export function listReadScenarios(seed: ListSeed, offers: { market: string; expected: number }): Scenario[] {
  const expect = (field: string, n: number) => (data: Record<string, unknown>) => {
    const got = edgesOf(data, field).length;
    if (got !== n) throw new Error(`${field} has ${got} edges, expected ${n}`);
    return `${got} edges`;
  };
  return [
    {
      name: "trivialSignedIn",
      description: "`query Trivial { __typename }` signed in: the trivial baseline plus a session token's verification (the baseline of the signed-in rows)",
      query: "query Trivial { __typename }",
      variables: {},
      token: seed.clientToken,
      check: (data) => {
        if (data.__typename !== "Query") throw new Error(`__typename is ${JSON.stringify(data.__typename)}`);
        return "__typename = Query";
      },
    },
    {
      name: "offersSignedIn",
      description: `contract Offers as above, signed in (a provider's console: never served from the response cache)`,
      query: OFFERS,
      variables: { filter: { market: offers.market }, first: 20 },
      token: seed.providerToken,
      check: (data) => {
        const count = (data.offers as { totalCount: number }).totalCount;
        if (count !== offers.expected) throw new Error(`offers totalCount is ${count}, expected ${offers.expected}`);
        return `${expect("offers", 20)(data)}, totalCount ${count}`;
      },
    },
    {
      name: "myJobs",
      description: `contract MyJobs (contract/jobs.graphql), first 50, a client with ${seed.jobs} jobs`,
      query: MY_JOBS,
      variables: { first: 50 },
      token: seed.clientToken,
      check: expect("myJobs", 50),
    },
    {
      name: "trades",
      description: `contract Trades (contract/market.graphql), market ${LIST_MARKET}, first 50 of ${seed.trades}`,
      query: TRADES,
      variables: { market: LIST_MARKET, first: 50 },
      check: expect("trades", 50),
    },
    {
      name: "settlements",
      description: `contract Settlements (contract/settlement.graphql), first 50 of ${seed.settlements} batches`,
      query: SETTLEMENTS,
      variables: { first: 50 },
      check: expect("settlements", 50),
    },
  ];
}
