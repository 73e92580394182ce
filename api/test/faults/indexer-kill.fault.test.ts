import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseUnits, Wallet } from "ethers";
import { escrowAt, tokenAt } from "../../../contracts";
import { formatDecimal } from "../../../pricing";
import { deployDevContracts, startDevChain, type DevChain } from "../../../contracts/dev-chain";
import { actor, eventually, freshModel, jobInput } from "../builders";
import { op } from "../contract";
import { freePort, gql, signIn, startTestServer, type TestServer } from "../harness";
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from "./processes";

jest.setTimeout(180_000);

const ROOT = join(__dirname, "..", "..", "..");
const JOBS = 12;
const OGPU = 10n ** 18n;

let pg: PostgresServer;
let redis: RedisServer;
let chain: DevChain;
let deployment: Awaited<ReturnType<typeof deployDevContracts>>;
let api: TestServer;
const prefix = `gxi${randomBytes(3).toString("hex")}`;
const indexers: ChildProcess[] = [];

/** The chain settings every process of this test shares (a chain of its own, outside the indexer process). */
const chainEnv = () => ({
  CHAIN_RPC_URL: chain.url,
  CHAIN_ID: String(chain.chainId),
  TOKEN_ADDRESS: deployment.token,
  ESCROW_ADDRESS: deployment.escrow,
  STAKING_ADDRESS: deployment.staking,
  CHAIN_START_BLOCK: String(deployment.deploymentBlock),
  CHAIN_CONFIRMATIONS: "1",
});

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  chain = await startDevChain({ port: await freePort() });
  deployment = await deployDevContracts(chain);
  api = await startTestServer({ DATABASE_URL: pg.url("gx_indexer_kill"), REDIS_URL: redis.url, QUEUE_PREFIX: prefix, FAILOVER_SILENCE_SECONDS: "0", ...chainEnv() }, { api: true, worker: true });
});
afterAll(async () => {
  for (const p of indexers) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await api?.stop();
  await chain?.stop();
  await Promise.all([pg?.destroy(), redis?.stop()]);
});

/** An indexer process of its own (`api/bin/indexer.ts`), settling small batches often, with the dev chain's first key as settler. */
function startIndexerProcess(): ChildProcess {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", join(ROOT, "api/bin/indexer.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: pg.url("gx_indexer_kill"),
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      SETTLER_PRIVATE_KEY: chain.accounts[0].privateKey,
      INDEXER_POLL_MS: "100",
      SETTLEMENT_BATCH_SIZE: "2",
      SETTLEMENT_MAX_AGE_SECONDS: "0",
      SETTLEMENT_INTERVAL_MS: "200",
      ...chainEnv(),
    },
    stdio: "ignore",
  });
  indexers.push(child);
  return child;
}

it("an indexer SIGKILLed mid-settlement loses and doubles nothing: the next one settles every charge once, and the chain equals the API to the wei", async () => {
  const db = api.system.db;
  const first = startIndexerProcess();
  // a client deposits 100 OGPU on chain; the indexer mirrors it
  const wallet = new Wallet(chain.accounts[5].privateKey, chain.provider);
  const { token } = await signIn(api.url, wallet as unknown as ReturnType<typeof Wallet.createRandom>);
  const nonce = () => chain.provider.getTransactionCount(wallet.address, "latest");
  await (await tokenAt(deployment.token, wallet).approve(deployment.escrow, parseUnits("100", 18), { nonce: await nonce() })).wait();
  await (await escrowAt(deployment.escrow, wallet).deposit(parseUnits("100", 18), { nonce: await nonce() })).wait();
  await eventually(async () => ((await gql(api.url, op("Me"), {}, token)).data?.me.escrow.available === "100" ? true : undefined), 60_000, "the deposit mirrored");

  // a provider whose offer bills at least 60 s: each job costs 36 OGPU/h x 60 s = 0.6 OGPU
  const m = freshModel();
  const provider = await actor(api);
  const node = await gql(api.url, op("RegisterNode"), { input: { name: "rig-kill", region: "eu-central", gpus: [m.gpu(JOBS)] } }, provider.token);
  const nodeId = node.data!.registerNode.id as string;
  await gql(api.url, op("Heartbeat"), { nodeId }, provider.token);
  const offer = await gql(api.url, op("PostOffer"), { input: { nodeId, pricePerGpuHour: "36", gpuCount: JOBS, minDurationSeconds: 60 } }, provider.token);
  expect(offer.errors).toBeUndefined();
  for (let i = 0; i < JOBS; i++) {
    const r = await gql(api.url, op("SubmitJob"), { input: jobInput(m.model, { maxPricePerGpuHour: "36", maxDurationSeconds: 600 }) }, token);
    expect(r.errors).toBeUndefined();
  }
  const assignments = await eventually(async () => {
    const list = (await gql(api.url, op("PendingAssignments"), { nodeId }, provider.token)).data?.assignments ?? [];
    return list.length === JOBS ? (list as { id: string }[]) : undefined;
  }, 30_000, "the assignments");
  // the work completes while the indexer settles it in batches of two; it is killed once the first batch is out
  const completing = (async () => {
    for (const a of assignments) {
      await gql(api.url, op("StartAssignment"), { id: a.id }, provider.token);
      const done = await gql(api.url, op("CompleteAssignment"), { id: a.id, resultHash: createHash("sha256").update(a.id).digest("hex") }, provider.token);
      expect(done.errors).toBeUndefined();
    }
  })();
  await eventually(async () => {
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM settlements WHERE status <> 'PENDING'`);
    return n > 0 ? true : undefined;
  }, 60_000, "a first batch sent");
  first.kill("SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  await completing;
  startIndexerProcess();

  const total = (BigInt(JOBS) * 6n * OGPU) / 10n;
  await eventually(async () => {
    const [{ open }] = await db.query(
      `SELECT count(*)::int AS open FROM charges c LEFT JOIN settlements s ON s.batch_id = c.settlement_batch WHERE c.client_id = (SELECT id FROM accounts WHERE address = $1)
          AND (s.status IS NULL OR s.status NOT IN ('CONFIRMED', 'FINALIZED'))`,
      [wallet.address.toLowerCase()],
    );
    return open === 0 ? true : (await chain.mine(1), undefined);
  }, 90_000, "every charge settled on chain");
  const [{ charged, n }] = await db.query(`SELECT coalesce(sum(amount_wei), 0)::text AS charged, count(*)::int AS n FROM charges WHERE provider_id = $1`, [provider.accountId]);
  expect(n).toBe(JOBS);
  expect(BigInt(charged)).toBe(total);
  // the chain paid each charge once: the provider may claim exactly the charges, the client kept the rest
  const escrow = escrowAt(deployment.escrow, chain.provider);
  expect(BigInt(await escrow.claimableOf(provider.wallet.address))).toBe(total);
  expect(BigInt(await escrow.balanceOf(wallet.address))).toBe(100n * OGPU - total);
  const shown = (await gql(api.url, op("Me"), {}, token)).data!.me.escrow;
  expect(shown).toEqual({ deposited: "100", held: "0", available: formatDecimal(100n * OGPU - total) });
});
