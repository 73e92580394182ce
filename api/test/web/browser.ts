/** The browser tests' harness: the built web app, Debian's Chromium through playwright-core, a wallet in the page. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { getBytes, type Wallet } from "ethers";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium (`.ci/run` installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ROOT = join(__dirname, "..", "..", "..");
/** Where the screenshots go (gitignored): look at them after a run. */
export const SHOTS = join(ROOT, "test-results", "web");

/** Builds dist/web (skipped when it was built from the same sources) and returns its folder. */
export function builtWebApp(): string {
  execFileSync(process.execPath, ["-r", require.resolve("@swc-node/register"), join(ROOT, "scripts", "build-web.ts")], { cwd: ROOT, stdio: "pipe", env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, "tsconfig.json") } });
  return join(ROOT, "dist", "web");
}

export async function launch(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

export const haveChromium = () => existsSync(CHROMIUM);

/** A page that records its console errors and uncaught exceptions (the tests expect none). */
export async function trackedPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => (m.type() === "error" ? errors.push(`console: ${m.text()} @ ${m.location().url}`) : undefined));
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  return { page, errors };
}

/**
 * An EIP-1193 provider in the page (`window.ethereum`) backed by an ethers Wallet on the dev chain: accounts, chain
 * id, personal_sign and eth_sendTransaction are the wallet's; every other call goes to the chain's JSON-RPC.
 */
export async function injectWallet(context: BrowserContext, wallet: Wallet, rpc: (method: string, params: unknown[]) => Promise<unknown>): Promise<void> {
  const chainId = `0x${(await wallet.provider!.getNetwork()).chainId.toString(16)}`;
  await context.exposeFunction("__gxWallet", async (method: string, params: unknown[] = []) => {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [wallet.address];
      case "eth_chainId":
        return chainId;
      case "personal_sign":
        return wallet.signMessage(getBytes(params[0] as string));
      case "eth_sendTransaction": {
        const tx = params[0] as { to: string; data?: string; value?: string; gas?: string };
        const nonce = await wallet.provider!.getTransactionCount(wallet.address, "pending");
        const sent = await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value, gasLimit: tx.gas, nonce });
        return sent.hash;
      }
      default:
        return rpc(method, params);
    }
  });
  // runs in the page (a script of its own, so no DOM types are needed here)
  await context.addInitScript(`window.ethereum = {
    isTestWallet: true,
    request: ({ method, params }) => window.__gxWallet(method, params ?? []),
    on() {},
    removeListener() {},
  };`);
}

/** A full-page screenshot into SHOTS. */
export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
