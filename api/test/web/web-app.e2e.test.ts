import type { Browser } from "playwright-core";
import { actor, freshModel, onlineOffer } from "../builders";
import { op } from "../contract";
import { privateDatabaseUrl } from "../databases";
import { freePort, gql, startTestServer, type TestServer } from "../harness";
import { builtWebApp, haveChromium, launch, shot, trackedPage } from "./browser";

jest.setTimeout(120_000);

let server: TestServer;
let browser: Browser;
let base: string;
const m = freshModel(48);

beforeAll(async () => {
  const web = builtWebApp();
  server = await startTestServer(
    { DATABASE_URL: await privateDatabaseUrl("web"), CHAIN_PORT: String(await freePort()), INDEXER_POLL_MS: "100", WEB_DIST_DIR: web },
    { api: true, worker: true, indexer: true },
  );
  base = server.url.replace(/\/graphql$/, "");
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

(haveChromium() ? it : it.skip)("serves the web app at / and its routes, and the market page shows the live book", async () => {
  const provider = await actor(server);
  await onlineOffer(server, provider, m.gpu(4), "2.5");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page, errors } = await trackedPage(context);
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: m.market }).click();
  await page.locator("#book-status").getByText(/Live · sequence/).waitFor();
  await page.locator("#asks").getByText("2.5").waitFor();
  await shot(page, "market");
  expect(errors).toEqual([]);
  // the API's own paths are untouched: a GraphQL POST, and JSON for a GET that asks for it
  expect((await gql(server.url, op("Markets"))).status).toBe(200);
  await context.close();
});
