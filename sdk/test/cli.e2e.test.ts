import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import { creditEscrow } from "../../api/db/repositories/escrow.repository";
import { actor, eventually, freshModel } from "../../api/test/builders";
import { op } from "../../api/test/contract";
import { gql, startTestServer, type TestServer } from "../../api/test/harness";
import { runJob } from "../examples/submit-job";
import { gx as runGx, ROOT, startAgent, startGx } from "./processes";

jest.setTimeout(300_000);

let server: TestServer;
let dir: string;
let agent: { child: ChildProcess; log: string[] };
const m = freshModel(48);
const wallet = Wallet.createRandom();
const DATA_JOB = [process.execPath, join(ROOT, "agent/examples/data-job.js")];

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const config = () => join(dir, "config", "gx.json");
const gx = (args: string[], env: Record<string, string> = {}) => runGx(["--api", server.url, ...args], { cwd: dir, env: { HOME: dir, GX_CONFIG: config(), ...env } });
const need = ["--gpus", "1", "--vram", "48", "--model", m.model, "--max-price", "3", "--max-duration", "600"];

/** big.bin of agent/examples/data-job.js for `mb` MiB, computed here as that file documents it. */
function expectedBig(mb: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < mb; i++) {
    const seed = createHash("sha256").update(`gx:${i}`).digest();
    const block = Buffer.alloc(1024 * 1024);
    for (let o = 0; o < block.length; o += seed.length) seed.copy(block, o);
    hash.update(block);
  }
  return hash.digest("hex");
}

beforeAll(async () => {
  // an escrow address (no chain runs here): the API then prepares and checks signed orders
  server = await startTestServer({ LEASE_SECONDS: "60", LEASE_SWEEP_MS: "500", ESCROW_ADDRESS: "0x00000000000000000000000000000000000e5c40" });
  dir = mkdtempSync(join(tmpdir(), "gx-cli-"));
  const provider = await actor(server);
  const key = (await gql(server.url, op("CreateApiKey"), { name: "cli-agent" }, provider.token)).data!.createApiKey.secret as string;
  agent = startAgent(server.url, key, "cli-rig", m.model, "2", dir);
  await eventually(async () => {
    const book = await gql(server.url, op("OrderBook"), { market: m.market });
    return (book.data?.orderBook.asks as unknown[] | undefined)?.length === 1 ? true : undefined;
  }, 90_000, "the agent's offer on the book");
  writeFileSync(join(dir, "wallet.key"), `${wallet.privateKey}\n`, { mode: 0o600 });
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) agent.child.kill("SIGKILL");
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("gx login signs in with a wallet key file and keeps the session in a 0600 config file (never the key)", async () => {
  writeFileSync(join(dir, "open.key"), wallet.privateKey, { mode: 0o644 });
  chmodSync(join(dir, "open.key"), 0o644);
  const open = await gx(["login", "--key-file", "open.key"]);
  expect(open.code).toBe(2);
  expect(open.stderr).toMatch(/accessible by group or others.*chmod 600/);

  const r = await gx(["login", "--key-file", "wallet.key"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`as ${wallet.address}`);
  expect(statSync(config()).mode & 0o777).toBe(0o600);
  const text = readFileSync(config(), "utf8");
  expect(text).not.toContain(wallet.privateKey.slice(2));
  const stored = JSON.parse(text);
  expect(stored.api).toBe(server.url);
  expect(stored.servers[server.url]).toMatchObject({ kind: "wallet", address: wallet.address, keyFile: join(dir, "wallet.key"), session: { token: expect.any(String) } });

  const [row] = await server.system.db.query(`SELECT id FROM accounts WHERE address = $1`, [wallet.address.toLowerCase()]);
  await creditEscrow(server.system.db, row.id, 100n * 10n ** 18n);
  const me = await gx(["whoami"]);
  expect(me.code).toBe(0);
  expect(me.stdout).toContain("escrow: 100 OGPU available");
});

it("gx quote shows the agent's offer", async () => {
  const r = await gx(["quote", ...need]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/matching offers: 1\n/);
  expect(r.stdout).toMatch(/best price: +2 OGPU per GPU-hour/);
  expect(r.stdout).toMatch(/max cost \(held\): 0\.5 OGPU/);
});

it("gx submit --sign uploads an input file, signs the job's order with the wallet, follows the job's progress and logs to the end, and downloads its outputs", async () => {
  const params = JSON.stringify({ lr: 0.001, epochs: 3 });
  writeFileSync(join(dir, "params.json"), params);
  const env = ["--env", "OUTPUT_MB=1", "--env", "LOG_LINES=5", "--env", "LOG_MS=20"];
  const r = await gx(["submit", "--sign", ...need, "--input", "params.json:config/params.json", ...env, "--out", "out", "--", ...DATA_JOB]);
  if (r.code !== 0) throw new Error(`gx submit exited ${r.code}\n${r.stderr}\n${agent.log.join("").slice(-3000)}`);
  // the order the wallet signed is stored with the job: the job's id, at most its hold (3 OGPU/h x 600 s = 0.5)
  const signedLine = /order (0x[0-9a-f]{64}) signed: at most 0\.5 OGPU for job (\S+) \(nonce 0\)/.exec(r.stderr);
  expect(signedLine).not.toBeNull();
  const [order] = await server.system.db.query(`SELECT digest, max_cost_wei, signature FROM job_orders WHERE job_id = $1`, [signedLine![2]]);
  expect(order).toMatchObject({ digest: signedLine![1], max_cost_wei: (5n * 10n ** 17n).toString() });
  // the workload's stdout lines, live, in order (progress lines are the agent's, not logs)
  expect(r.stdout.split("\n").filter((l) => l.startsWith("log "))).toEqual(["log 0", "log 1", "log 2", "log 3", "log 4"]);
  expect(r.stdout).toContain("stderr 0");
  expect(r.stderr).toMatch(/uploaded params\.json \(\d+ B, sha256 [0-9a-f]{64}\) as config\/params\.json/);
  expect(r.stderr).toMatch(/upload params\.json \[#+\] 100%/);
  expect(r.stderr).toMatch(/job \[#+\] 100% COMPLETED/);
  expect(r.stderr).toMatch(/job \S+ COMPLETED, result [0-9a-f]{64} \(agreed by 1\)/);
  expect(readFileSync(join(dir, "out", "inputs.txt"), "utf8")).toBe(`${sha256(params)} config/params.json\n`);
  expect(readFileSync(join(dir, "out", "result"), "utf8")).toBe("ok 1\n");
  expect(sha256(readFileSync(join(dir, "out", "data", "big.bin")))).toBe(expectedBig(1));
});

it("a refused input gives the server's code and message and a non-zero exit, and submits nothing", async () => {
  const before = JSON.parse((await gx(["--json", "jobs"])).stdout).edges.length;
  const r = await gx(["submit", ...need, "--input", "params.json:../escape", "--", ...DATA_JOB]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^gx: BAD_USER_INPUT: .*may not have empty, "\." or "\.\." parts: "\.\.\/escape"/m);
  expect(JSON.parse((await gx(["--json", "jobs"])).stdout).edges).toHaveLength(before);

  const poor = await gx(["submit", "--gpus", "1", "--vram", "48", "--model", m.model, "--max-price", "1000", "--max-duration", "86400", "--", "true"]);
  expect(poor.code).toBe(4);
  expect(poor.stderr).toMatch(/^gx: INSUFFICIENT_FUNDS: /m);
  const bad = await gx(["submit", ...need.slice(0, -4), "--max-price", "1.2.3", "--max-duration", "600", "--", "true"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^gx: BAD_USER_INPUT: /m);
});

it("gx jobs lists jobs, gx cancel cancels a resting one, and cancelling a completed one is a CONFLICT", async () => {
  const submitted = await gx(["submit", "--no-follow", "--gpus", "1", "--vram", "96", "--model", m.model, "--max-price", "3", "--max-duration", "600", "--", "true"]);
  expect(submitted.code).toBe(0);
  const id = submitted.stdout.trim();
  const list = await gx(["jobs"]);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`^${id}  PENDING`, "m"));
  expect(list.stdout).toMatch(/ COMPLETED /);
  const shown = await gx(["job", id]);
  expect(shown.stdout).toMatch(/passed over: VRAM \(1\)/);

  const cancelled = await gx(["cancel", id]);
  expect([cancelled.code, cancelled.stdout]).toEqual([0, `${id} CANCELLED\n`]);
  const completed = JSON.parse((await gx(["--json", "jobs", "--status", "COMPLETED"])).stdout).edges[0].node.id as string;
  const refused = await gx(["cancel", completed]);
  expect(refused.code).toBe(4);
  expect(refused.stderr).toMatch(/^gx: CONFLICT: /m);
  const unknown = await gx(["cancel", "00000000-0000-4000-8000-000000000000"]);
  expect(unknown.code).toBe(4);
  expect(unknown.stderr).toMatch(/^gx: NOT_FOUND: /m);
});

it("gx book --once prints the market's depth", async () => {
  const r = await gx(["book", m.market, "--once"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^${m.market}  sequence \\d+  best ask 2  best bid -`));
  expect(r.stdout).toMatch(/^ASK +2 +1 +1 +#+$/m);
});

it("gx book shows the book live: a change appears without a restart, and an interrupt ends it with 0", async () => {
  const live = startGx(["--api", server.url, "book", m.market, "--depth", "5"], { cwd: dir, env: { HOME: dir, GX_CONFIG: config() } });
  try {
    await eventually(async () => (/best ask 2 /.test(live.output.stdout) ? true : undefined), 30_000, "the first view");
    const provider = await actor(server);
    const { registerNode } = (await gql(server.url, op("RegisterNode"), { input: { name: "live-rig", region: "eu-central", gpus: [m.gpu(4)] } }, provider.token)).data!;
    await gql(server.url, op("Heartbeat"), { nodeId: registerNode.id }, provider.token);
    const offer = (await gql(server.url, op("PostOffer"), { input: { nodeId: registerNode.id, pricePerGpuHour: "1.75", gpuCount: 3 } }, provider.token)).data!.postOffer;
    // at worst the keeper's periodic check (15 s, twice) finds a delta sent before its subscription was live
    await eventually(async () => (/^ASK +1\.75 +3 +1 +#+$/m.test(live.output.stdout) ? true : undefined), 60_000, "the new level in the live view");
    expect(live.output.stdout).toMatch(/best ask 1\.75 /);
    // no agent runs that node: off the book again before the next job
    await gql(server.url, op("CancelOffer"), { id: offer.id }, provider.token);
    await eventually(async () => (/best ask 2 [^\n]*\n(?![\s\S]*best ask 1\.75)/.test(live.output.stdout) ? true : undefined), 60_000, "the level gone from the live view");
  } finally {
    live.child.kill("SIGINT");
  }
  expect((await live.done).code).toBe(0);
});

it("renews a session the server refuses from the key file; without credentials it exits 3", async () => {
  const stored = JSON.parse(readFileSync(config(), "utf8"));
  stored.servers[server.url].session.token = "a-session-the-server-never-issued";
  writeFileSync(config(), JSON.stringify(stored), { mode: 0o600 });
  const r = await gx(["whoami"]);
  expect(r.code).toBe(0);
  const renewed = JSON.parse(readFileSync(config(), "utf8")).servers[server.url].session.token;
  expect(renewed).not.toBe("a-session-the-server-never-issued");
  expect(statSync(config()).mode & 0o777).toBe(0o600);

  const none = await gx(["jobs"], { GX_CONFIG: join(dir, "nobody.json") });
  expect(none.code).toBe(3);
  expect(none.stderr).toMatch(/not logged in to .*: run gx login/);
  const wrongKey = await gx(["login", "--api-key", "gx_not-a-key"], { GX_CONFIG: join(dir, "nobody.json") });
  expect(wrongKey.code).toBe(3);
  expect(wrongKey.stderr).toMatch(/^gx: UNAUTHENTICATED: /m);
});

it("logs in with an API key file, and runs the README's job example with it", async () => {
  const token = JSON.parse(readFileSync(config(), "utf8")).servers[server.url].session.token as string;
  const key = (await gql(server.url, op("CreateApiKey"), { name: "cli" }, token)).data!.createApiKey.secret as string;
  writeFileSync(join(dir, "api.key"), key, { mode: 0o600 });
  const r = await gx(["login", "--api-key-file", "api.key"], { GX_CONFIG: join(dir, "keyed.json") });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\(API key\)/);

  writeFileSync(join(dir, "weights.bin"), Buffer.alloc(256 * 1024, 7));
  const log: string[] = [];
  const requirements = { gpuCount: 1, minVramGb: 48, gpuModels: [m.model], maxPricePerGpuHour: "3", maxDurationSeconds: 600 };
  const command = [...DATA_JOB];
  const { files } = await runJob(server.url, key, join(dir, "weights.bin"), command, requirements, join(dir, "example-out"), (l) => log.push(l));
  expect(files.map((f) => f.name).sort()).toEqual(["data/big.bin", "inputs.txt", "result"]);
  expect(readFileSync(join(dir, "example-out", "inputs.txt"), "utf8")).toBe(`${sha256(Buffer.alloc(256 * 1024, 7))} weights.bin\n`);
  expect(log).toContain("uploaded 262144 of 262144 bytes");
  expect(log).toContain("COMPLETED 100%");
  expect(log.filter((l) => l.startsWith("stdout: log "))).toEqual(Array.from({ length: 10 }, (_, i) => `stdout: log ${i}`));
});
