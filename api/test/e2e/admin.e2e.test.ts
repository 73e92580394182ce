import { startTestServer, type TestServer } from "../harness";

let server: TestServer;
let base: string;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

beforeAll(async () => {
  server = await startTestServer({ ADMIN_USER: "ops", ADMIN_PASSWORD: "correct horse battery" });
  base = server.url.replace("/graphql", "");
});
afterAll(() => server.stop());

describe("/admin/queues", () => {
  it("refuses without the admin credentials", async () => {
    const none = await fetch(`${base}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: basic("ops", "wrong password!") } })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues/api/queues`)).status).toBe(401);
  });

  it("serves bull-board, listing every queue, with them", async () => {
    const auth = { authorization: basic("ops", "correct horse battery") };
    const page = await fetch(`${base}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${base}/admin/queues/api/queues`, { headers: auth });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(["maintenance", "matching"]);
  });

  it("is off (404) when no admin credentials are configured", async () => {
    const plain = await startTestServer({}, { api: true, worker: false });
    expect((await fetch(`${plain.url.replace("/graphql", "")}/admin/queues`)).status).toBe(404);
    await plain.stop();
  });
});
