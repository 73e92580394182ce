import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../harness";

/** Debian's Chromium (`.ci/run` installs it when missing). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let server: TestServer;
let browser: Browser | undefined;
beforeAll(async () => {
  server = await startTestServer({ ADMIN_USER: "ops", ADMIN_PASSWORD: "correct horse battery" });
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server.stop();
});

(existsSync(CHROMIUM) ? it : it.skip)("renders bull-board in headless Chromium behind the admin credentials, listing every queue, and refuses without them", async () => {
  const url = `${server.url.replace("/graphql", "")}/admin/queues`;
  const admin = await browser!.newContext({ httpCredentials: { username: "ops", password: "correct horse battery" } });
  const page = await admin.newPage();
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  await page.getByText("matching").first().waitFor({ timeout: 20_000 });
  await page.getByText("maintenance").first().waitFor({ timeout: 20_000 });
  expect(await page.title()).toMatch(/Bull/);
  await admin.close();

  // without credentials the browser is refused: a 401 challenge it cannot answer
  const anonymous = await browser!.newContext();
  const outcome = await (await anonymous.newPage()).goto(url).then(
    (r) => `status ${r?.status()}`,
    (e: Error) => e.message,
  );
  expect(outcome).toMatch(/status 401|ERR_INVALID_AUTH_CREDENTIALS/);
  await anonymous.close();
}, 90_000);
