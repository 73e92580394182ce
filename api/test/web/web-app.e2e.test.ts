import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import type { Browser, Page } from "playwright-core";
import { actor, eventually, freshModel, type Actor } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, startTestServer, type TestServer } from "../harness";
import { builtWebApp, haveChromium, injectWallet, launch, ROOT, shot, trackedPage } from "./browser";

jest.setTimeout(120_000);

let server: TestServer;
let browser: Browser;
let base: string;
let dir: string;
let provider: Actor;
let agent: ChildProcess | undefined;
const agentLog: string[] = [];
const m = freshModel(48);
const run = haveChromium() ? it : it.skip;

/** The real agent (process executor, one GPU of the test's model at 2 OGPU), repricing left to the test. */
function startAgent(key: string) {
  const args = ["-r", require.resolve("@swc-node/register"), join(ROOT, "agent/cli.ts"), "--api", server.url, "--api-key", key, "--name", "web-rig", "--region", "eu-central"];
  args.push("--gpus", `NVIDIA ${m.model}:48:1`, "--price", "2", "--reprice-s", "86400", "--executor", "process", "--work-dir", join(dir, "agent"), "--heartbeat-s", "1", "--poll-s", "1");
  if (process.getuid?.() === 0) args.push("--allow-root");
  agent = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: dir }, stdio: ["ignore", "pipe", "pipe"] });
  agent.stdout!.on("data", (d) => agentLog.push(String(d)));
  agent.stderr!.on("data", (d) => agentLog.push(String(d)));
}

beforeAll(async () => {
  if (!haveChromium()) return;
  const web = builtWebApp();
  dir = mkdtempSync(join(tmpdir(), "gx-web-"));
  server = await startTestServer(
    { DATABASE_URL: await privateDatabaseUrl("web"), CHAIN_PORT: String(await freePort()), INDEXER_POLL_MS: "100", WEB_DIST_DIR: web },
    { api: true, worker: true, indexer: true },
  );
  // the page at the server's PUBLIC_URL (localhost), as users open it: the signed upload URLs it is given are same-origin
  base = server.url.replace(/\/graphql$/, "").replace("127.0.0.1", "localhost");
  provider = await actor(server);
  startAgent((await gql(server.url, op("CreateApiKey"), { name: "web-agent" }, provider.token)).data!.createApiKey.secret);
  browser = await launch();
  await eventually(async () => ((await gql(server.url, op("OrderBook"), { market: m.market })).data?.orderBook.asks.length === 1 ? true : undefined), 90_000, "the agent's offer on the book");
}, 120_000);
afterAll(async () => {
  if (agent && agent.exitCode === null) agent.kill("SIGKILL");
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A browser context whose window.ethereum is `wallet` on the dev chain. */
async function walletContext(wallet: Wallet | ReturnType<typeof Wallet.createRandom>) {
  const chain = server.system.devChain!;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await injectWallet(context, wallet.connect(chain.provider) as Wallet, (method, params) => chain.provider.send(method, params));
  return context;
}

async function connect(page: Page, address: string) {
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await page.locator(".address").and(page.locator(`[title="${address}"]`)).waitFor();
}

run("a client signs in with its wallet, deposits, submits a job a real agent runs, follows its progress and logs, downloads its output", async () => {
  const wallet = new Wallet(server.system.devChain!.accounts[4]!.privateKey);
  const context = await walletContext(wallet);
  const { page, errors } = await trackedPage(context);
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: m.market }).waitFor();
  await shot(page, "markets");

  await page.getByRole("link", { name: "Client" }).click();
  await connect(page, wallet.address);
  await page.getByLabel("Deposit (OGPU)").fill("100");
  await page.getByRole("button", { name: "Deposit", exact: true }).click();
  await page.locator("#escrow-status").getByText("Deposit: done.").waitFor({ timeout: 60_000 });
  await page.locator("#escrow").getByText("100 OGPU").first().waitFor();
  // the wallet's own balance, read from the chain through the wallet: 1,000,000 OGPU funded, 100 deposited
  await page.locator("#escrow").getByText("999900 OGPU").waitFor();

  const gate = join(dir, "gate");
  await page.getByLabel("Market").selectOption(m.market);
  await page.getByLabel("Max price").fill("3");
  await page.getByLabel("Command").fill([process.execPath, join(__dirname, "gated-job.js"), gate].join("\n"));
  await page.getByLabel("Input file (optional)").setInputFiles({ name: "data.txt", mimeType: "text/plain", buffer: Buffer.from("uploaded from the browser\n") });
  await page.locator("#quote-cost").waitFor();
  expect(await page.locator("#quote").textContent()).toMatch(/1 offer matches, from 2 OGPU/);
  await shot(page, "client");

  await page.getByRole("button", { name: "Submit job" }).click();
  const refused = page.locator("#submit-status").getByText(/Not submitted/);
  await Promise.race([page.waitForURL(/\/jobs\//), refused.waitFor().then(async () => Promise.reject(new Error(`${await refused.textContent()}`)))]);
  await page.locator('#job-progress[data-value="0.500"]').waitFor({ timeout: 60_000 });
  await page.locator("#logs").getByText("hello from the web test").waitFor();
  await page.locator("#logs").getByText("input data.txt: uploaded from the browser").waitFor();
  await page.locator("#checkpoints").getByText("9 B").waitFor();
  await shot(page, "job-running");
  writeFileSync(gate, "go");
  await page.locator("#job-status").getByText("COMPLETED").waitFor({ timeout: 60_000 });
  await page.locator('#job-progress[data-value="1.000"]').waitFor();
  await page.locator("#logs").getByText("finished").waitFor();
  const link = page.locator("#outputs").getByRole("link", { name: "report.txt" });
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(readFileSync((await download.path())!, "utf8")).toBe("web e2e report\n");
  await shot(page, "job");

  // the jobs list shows it done
  await page.getByRole("link", { name: "Client" }).click();
  await page.locator("#jobs").getByText("COMPLETED").waitFor();
  expect(errors).toEqual([]);
  await context.close();
});

run("a provider reprices its offer in the console and an open market page's book and depth chart follow without a reload", async () => {
  const watcher = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const market = await trackedPage(watcher);
  await market.page.goto(`${base}/market/${m.market}`);
  await market.page.locator("#book-status").getByText(/Live · sequence/).waitFor();
  await market.page.locator('svg.depth[data-best-ask="2"]').waitFor();

  const context = await walletContext(provider.wallet);
  const { page, errors } = await trackedPage(context);
  await page.goto(`${base}/provider`);
  await connect(page, provider.wallet.address);
  const price = page.getByLabel(/New price of offer/);
  await price.fill("1.75");
  await page.getByRole("button", { name: "Reprice" }).click();
  await page.getByText("Repriced to 1.75").waitFor();
  await market.page.locator("#asks").getByText("1.75").waitFor();
  await market.page.locator('svg.depth[data-best-ask="1.75"]').waitFor();
  // a snapshot reloaded on request is said so on the page, and the book it loads is the same
  await market.page.getByRole("button", { name: "Reload snapshot" }).click();
  await market.page.locator("#book-resync").getByText(/Reloaded a snapshot 1×.*you asked/).waitFor();
  await market.page.locator("#asks").getByText("1.75").waitFor();
  await page.getByText("Online: heartbeats arrive").waitFor();
  await shot(page, "provider");
  await shot(market.page, "market");
  await market.page.setViewportSize({ width: 390, height: 844 });
  await market.page.locator("#asks").getByText("1.75").waitFor();
  await shot(market.page, "market-narrow");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "provider-narrow");
  expect(errors).toEqual([]);
  expect(market.errors).toEqual([]);
  await context.close();
  await watcher.close();
});

run("serves GraphiQL to browsers at /graphql outside production, while POSTs and non-browser GETs reach Apollo as before", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const { page, errors } = await trackedPage(context);
  await page.goto(`${base}/graphql`);
  await page.locator(".graphiql-container").waitFor();
  await page.getByText("query Markets").first().waitFor();
  await shot(page, "graphiql");
  expect(errors).toEqual([]);
  await context.close();
  expect((await gql(server.url, op("Markets"))).status).toBe(200);
  // Apollo's CSRF prevention still refuses a simple GET without a preflight-forcing header
  const get = await fetch(`${server.url}?query=${encodeURIComponent("{ markets { id } }")}`);
  expect(get.status).toBe(400);
  expect(await get.text()).toMatch(/CSRF/);
  // and an API path never answers with the app
  expect((await fetch(`${server.url.replace(/\/graphql$/, "")}/metrics`, { headers: { accept: "text/html" } })).headers.get("content-type")).not.toMatch(/html/);
  expect((await fetch(`${server.url.replace(/\/graphql$/, "")}/jobs/123`, { headers: { accept: "text/html" } })).headers.get("content-type")).toMatch(/html/);
});
