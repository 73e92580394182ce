/**
 * docker-compose.yml, run as the processes it describes (there is no Docker engine here): each service's own
 * command, with its environment as compose interpolates it from a user's .env. Only what Docker's network would
 * provide is translated: the hostnames postgres, redis, chain and api point at this machine (minio at an in-process
 * s3rver, postgres at the tests' server), each published port at a free one, and `dist/X.js` runs from its source
 * X.ts. So a wrong variable name, a missing setting in production mode, a contract address that the chain does not
 * deploy, a settler key without the role or a treasury with no escrow fails here as it would for a user of
 * `docker compose up`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, parseUnits, Wallet } from "ethers";
import { parse } from "yaml";
import { escrowAt, tokenAt } from "../../../contracts";
import { DEV_MNEMONIC } from "../../../contracts/dev-chain";
import { eventually } from "../builders";
import { op } from "../contract";
import S3rver from "s3rver";
import { createS3BlobStore } from "../../storage/s3-store";
import { generated, refOf, sha256Of } from "../blob-store-behaviour";
import { databaseUrl, withAdmin } from "../databases";
import { freePort, gql, signIn } from "../harness";
import { checkpointCounterHash } from "../workloads";

jest.setTimeout(240_000);

const ROOT = join(__dirname, "..", "..", "..");
interface Service {
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  profiles?: string[];
}
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, Service> };

/**
 * What a user puts in .env (the compose file refuses to start without JWT_SECRET, and the agent without GX_API_KEY);
 * the S3 keys are s3rver's, the only ones it knows, where compose runs MinIO with whatever keys .env gives.
 */
const ADMIN = { user: "ops", password: "compose-admin-password" };
const S3_KEYS = { S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER" };
const dotEnv: Record<string, string> = { JWT_SECRET: "a-compose-test-secret-of-32-characters-or-more", ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: "warn", ...S3_KEYS };

/** Compose's interpolation: ${VAR}, ${VAR:-default} and ${VAR:?error}. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, arg: string | undefined) => {
    const set = vars[name];
    if (set !== undefined && set !== "") return set;
    if (kind === "?") throw new Error(`compose refuses to start: ${arg}`);
    return kind === "-" ? (arg ?? "") : "";
  });
}

const ports = { chain: 0, api: 0, api2: 0, s3: 0 };
const dbName = `gx_test_compose_${process.pid}`;
const prefix = `gxcompose${process.pid}`;
const urlOf = (port: number) => `http://127.0.0.1:${port}`;

/** What Docker's network and port mappings would do, done on this machine (s3rver standing in for MinIO). */
function local(value: string, apiPort = ports.api): string {
  return value
    .replace(/^postgres:\/\/[^@]+@postgres:5432\/[A-Za-z0-9_]+$/, databaseUrl(dbName))
    .replace(/http:\/\/(minio|localhost):9000/g, urlOf(ports.s3))
    .replace("redis://redis:6379", "redis://127.0.0.1:6379")
    .replace(/http:\/\/(chain|127\.0\.0\.1):8545/g, urlOf(ports.chain))
    .replace(/http:\/\/(api|127\.0\.0\.1):4000/g, urlOf(apiPort));
}

const processes: { name: string; child: ChildProcess; log: string[] }[] = [];

/** Starts a service; `userEnv` is more of the user's .env, `extraEnv` settings beyond the compose file's. */
function start(name: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = [], userEnv: Record<string, string> = {}): ChildProcess {
  const service = compose.services[name === "api2" ? "api-2" : name];
  const apiPort = name === "api2" ? ports.api2 : ports.api;
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: work };
  for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = local(interpolate(String(v), { ...dotEnv, PUBLIC_URL: urlOf(ports.api), ...userEnv }), apiPort);
  const [node, script, ...args] = service.command!;
  expect(node).toBe("node");
  const source = script.replace(/^dist\//, "").replace(/\.js$/, ".ts");
  const child = spawn(process.execPath, ["-r", "@swc-node/register", join(ROOT, source), ...args.map((a) => local(a, apiPort)), ...extraArgs], {
    cwd: ROOT,
    env: { ...env, QUEUE_PREFIX: prefix, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  child.stdout!.on("data", (d) => log.push(String(d)));
  child.stderr!.on("data", (d) => log.push(String(d)));
  processes.push({ name, child, log });
  return child;
}

/** Runs a service's own healthcheck command (["CMD", "node", "-e", ...]) until it passes. */
async function healthy(name: string, timeoutMs: number): Promise<void> {
  const [cmd, node, flag, script] = compose.services[name].healthcheck!.test;
  expect([cmd, node, flag]).toEqual(["CMD", "node", "-e"]);
  const once = () =>
    new Promise<boolean>((resolve) => {
      const probe = spawn(process.execPath, ["-e", local(script)], { stdio: "ignore" });
      probe.on("exit", (code) => resolve(code === 0));
    });
  await eventually(async () => ((await once()) ? true : (await new Promise((r) => setTimeout(r, 250)), undefined)), timeoutMs, `${name}'s healthcheck`).catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });
}

function logs(): string {
  return processes.map((p) => `--- ${p.name} (exit ${p.child.exitCode ?? "running"}):\n${p.log.join("").slice(-2500)}`).join("\n");
}

/** The bucket minio-setup's one-shot command creates (`mc mb --ignore-existing <alias>/<bucket>`). */
function setupBucket(): string {
  const bucket = /mc mb --ignore-existing [a-z0-9-]+\/([a-z0-9.-]+)/.exec(compose.services["minio-setup"].command!.join(" "));
  if (!bucket) throw new Error("minio-setup does not create a bucket");
  return bucket[1];
}

let work: string;
let s3: S3rver | undefined;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gx-compose-"));
  ports.chain = await freePort();
  ports.api = await freePort();
  ports.api2 = await freePort();
  s3 = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: join(work, "s3"), configureBuckets: [{ name: setupBucket() }] });
  ports.s3 = (await s3.run()).port;
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await s3?.close().catch(() => undefined);
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

it("docker-compose.yml's blob store: MinIO's root keys are the services' S3 keys, with .env and without, and those settings reach the bucket minio-setup creates", async () => {
  const minio = compose.services.minio.environment!;
  const setup = compose.services["minio-setup"].environment!;
  for (const userEnv of [dotEnv, {}]) {
    const app = (name: string) => interpolate(String(compose.services.api.environment![name]), userEnv);
    expect({ user: interpolate(minio.MINIO_ROOT_USER, userEnv), password: interpolate(minio.MINIO_ROOT_PASSWORD, userEnv) }).toEqual({ user: app("S3_ACCESS_KEY_ID"), password: app("S3_SECRET_ACCESS_KEY") });
    expect({ user: interpolate(setup.MINIO_ROOT_USER, userEnv), password: interpolate(setup.MINIO_ROOT_PASSWORD, userEnv) }).toEqual({ user: app("S3_ACCESS_KEY_ID"), password: app("S3_SECRET_ACCESS_KEY") });
  }
  // MinIO refuses a root password under 8 characters: the dev default must do
  expect(interpolate(minio.MINIO_ROOT_PASSWORD, {}).length).toBeGreaterThanOrEqual(8);
  for (const name of ["api", "api-2", "worker", "indexer"]) expect(compose.services[name].depends_on).toHaveProperty("minio-setup.condition", "service_completed_successfully");
  const env = (name: string) => local(interpolate(String(compose.services.api.environment![name]), dotEnv));
  expect(env("BLOB_STORE")).toBe("s3");
  expect(env("S3_BUCKET")).toBe(setupBucket());
  const store = createS3BlobStore({
    endpoint: env("S3_ENDPOINT"),
    publicEndpoint: env("S3_PUBLIC_ENDPOINT"),
    region: env("S3_REGION"),
    bucket: env("S3_BUCKET"),
    accessKeyId: env("S3_ACCESS_KEY_ID"),
    secretAccessKey: env("S3_SECRET_ACCESS_KEY"),
    forcePathStyle: env("S3_FORCE_PATH_STYLE") === "true",
  });
  const ref = await refOf(1000, 31);
  await store.put(ref, generated(1000, 31));
  expect(await sha256Of(await store.read(ref.sha256))).toBe(ref.sha256);
  const download = await fetch(await store.direct!.downloadUrl(ref.sha256, 60, "compose.bin"));
  expect(download.status).toBe(200);
  expect((await download.arrayBuffer()).byteLength).toBe(1000);
});

it("docker-compose.yml's services, run as its commands with its environment: a wallet's job through api-2 runs on the compose agent and settles on the compose chain; a relay job is paid by the treasury", async () => {
  expect(Object.keys(compose.services).sort()).toEqual(["agent", "api", "api-2", "chain", "indexer", "minio", "minio-setup", "postgres", "redis", "worker"]);
  start("chain", { CHAIN_PORT: String(ports.chain), CHAIN_HOST: "127.0.0.1" });
  await healthy("chain", 120_000);
  // the indexer batches settlements sooner than its one-minute default, so the test need not wait for it
  for (const name of ["api", "api2", "worker"]) start(name, { PORT: String(name === "api2" ? ports.api2 : ports.api) });
  start("indexer", { SETTLEMENT_MAX_AGE_SECONDS: "0", SETTLEMENT_INTERVAL_MS: "300" });
  await healthy("api", 120_000);
  const api = `${urlOf(ports.api)}/graphql`;
  const api2 = `${urlOf(ports.api2)}/graphql`;
  await eventually(async () => ((await fetch(`${urlOf(ports.api2)}/readyz`).catch(() => undefined))?.ok ? true : undefined), 60_000, "api-2 ready");

  // a provider's key runs the compose agent (its image runs as the user node; here the test may be root)
  const provider = await signIn(api);
  const key = await gql(api, op("CreateApiKey"), { name: "compose-agent" }, provider.token);
  expect(key.errors).toBeUndefined();
  start("agent", {}, [...(process.getuid?.() === 0 ? ["--allow-root"] : []), "--work-dir", join(work, "agent")], { GX_API_KEY: key.data!.createApiKey.secret });
  const market = "H100-80GB";
  await eventually(async () => ((await gql(api2, op("OrderBook"), { market })).data?.orderBook.asks.length === 1 ? true : undefined), 60_000, "the agent's offer on api-2's book").catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });

  // a client with a dev account deposits on the compose chain; the indexer mirrors it
  const chain = new JsonRpcProvider(urlOf(ports.chain), Number(compose.services.api.environment!.CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  const wallet = new Wallet(HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), "m/44'/60'/0'/0/5").privateKey, chain);
  const env = compose.services.api.environment!;
  const nonce = () => chain.getTransactionCount(wallet.address, "latest");
  await (await tokenAt(env.TOKEN_ADDRESS, wallet).approve(env.ESCROW_ADDRESS, parseUnits("100", 18), { nonce: await nonce() })).wait();
  await (await escrowAt(env.ESCROW_ADDRESS, wallet).deposit(parseUnits("100", 18), { nonce: await nonce() })).wait();
  const client = await signIn(api2, wallet as unknown as HDNodeWallet);
  await eventually(async () => ((await gql(api2, op("Me"), {}, client.token)).data?.me.escrow.available === "100" ? true : undefined), 30_000, "the deposit mirrored");

  const steps = 3;
  // 1.5 s of work: runs are billed in whole seconds, so a shorter one costs nothing and moves no OGPU
  const counter = { kind: "BATCH", command: [process.execPath, join(ROOT, "agent/examples/checkpoint-counter.js")], env: [{ name: "STEPS", value: String(steps) }, { name: "STEP_MS", value: "500" }] };
  const submitted = await gql(
    api2,
    op("SubmitJob"),
    {
      input: {
        ...counter,
        requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["H100"], maxPricePerGpuHour: "3", maxDurationSeconds: 600 },
      },
    },
    client.token,
  );
  expect(submitted.errors).toBeUndefined();
  const jobId = submitted.data!.submitJob.id as string;
  const settled = await eventually(async () => {
    const j = (await gql(api2, `query J($id: ID!) { job(id: $id) { status cost result { hash } settlement { batchId amount txHash } } }`, { id: jobId }, client.token)).data!.job;
    return j.status === "FAILED" || j.settlement ? j : undefined;
  }, 90_000, "the job run and settled").catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });
  expect(settled.status).toBe("COMPLETED");
  expect(settled.result.hash).toBe(checkpointCounterHash(steps));
  expect(Number(settled.cost)).toBeGreaterThan(0);
  expect(settled.settlement.amount).toBe(settled.cost);
  expect((await chain.getTransactionReceipt(settled.settlement.txHash))?.status).toBe(1);

  // the relay: the compose chain's treasury (account #19) pays the OGPU, the key's account pays USD
  const base = urlOf(ports.api);
  const basic = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;
  const admin = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: basic }, body: JSON.stringify(body) });
  const enterprise = await signIn(api);
  expect((await admin("/admin/usd-credits", { address: enterprise.wallet.address, usd: "10" })).status).toBe(201);
  const relayKey = (await gql(api, op("CreateApiKey"), { name: "relay" }, enterprise.token)).data!.createApiKey.secret as string;
  const relayJob = (idempotencyKey: string) =>
    fetch(`${base}/relay/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${relayKey}`, "idempotency-key": idempotencyKey },
      body: JSON.stringify({ ...counter, requirements: { gpuCount: 1, minVramGb: 80, gpuModels: ["H100"], maxPriceUsdPerGpuHour: "2", maxDurationSeconds: 600 } }),
    });
  // production with no OGPU_USD_RATE in .env: no rate until one is fed, so the relay quotes nothing
  const unpriced = await relayJob("compose-0");
  expect({ status: unpriced.status, code: ((await unpriced.json()) as { error: { code: string } }).error.code }).toEqual({ status: 503, code: "UNAVAILABLE" });
  expect((await admin("/admin/usd-rate", { usdPerOgpu: "0.5", source: "compose test" })).status).toBe(201);
  const created = await relayJob("compose-1");
  const body = (await created.json()) as { id: string };
  expect({ status: created.status, body }).toMatchObject({ status: 201 });
  const relayed = await eventually(async () => {
    const r = (await (await fetch(`${base}/relay/v1/jobs/${body.id}`, { headers: { authorization: `Bearer ${relayKey}` } })).json()) as { status: string; costUsd: string | null };
    return r.costUsd !== null || r.status === "FAILED" ? r : undefined;
  }, 60_000, "the relay job run and charged").catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });
  expect(relayed.status).toBe("COMPLETED");
  // settled on chain from the treasury's escrow (the key's account has no OGPU at all)
  const relaySettled = await eventually(async () => (await gql(api, `query J($id: ID!) { job(id: $id) { cost settlement { amount } } }`, { id: body.id }, relayKey)).data?.job?.settlement ? true : undefined, 30_000, "the relay job settled");
  expect(relaySettled).toBe(true);
  const treasury = compose.services.api.environment!.RELAY_TREASURY_ADDRESS;
  expect(BigInt(await escrowAt(env.ESCROW_ADDRESS, chain).balanceOf(treasury))).toBeLessThan(parseUnits("500000", 18));
  // every settlement pass went through the first time (a settler reusing a nonce showed up here as "pass failed")
  expect(processes.find((p) => p.name === "indexer")!.log.join("")).not.toMatch(/pass failed|not sent/);
  for (const p of processes) expect({ service: p.name, exit: p.child.exitCode }).toEqual({ service: p.name, exit: null });
  chain.destroy();
});
