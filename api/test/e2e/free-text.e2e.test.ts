import { actor, freshModel, jobInput, onlineOffer, type Actor } from "../builders";
import { op } from "../contract";
import { codeOf, gql, startTestServer, wsClient, wsRequest, type TestServer } from "../harness";

let server: TestServer;
let provider: Actor;
let client: Actor;
const m = freshModel();
beforeAll(async () => {
  server = await startTestServer();
  provider = await actor(server);
  client = await actor(server, 1000n);
  await onlineOffer(server, provider, m.gpu(1), "2", 1);
});
afterAll(() => server.stop());

const register = (input: Record<string, unknown>, token = provider.token) => gql(server.url, op("RegisterNode"), { input: { region: "eu-central", gpus: [m.gpu(1)], ...input } }, token);
const nodeNames = async () => ((await gql(server.url, op("MyNodes"), {}, provider.token)).data!.myNodes as { name: string }[]).map((n) => n.name);

describe("free text in what is stored and shown", () => {
  it.each([
    ["an ANSI escape in a node name", { name: "rig\u001b[2J\u001b[31m-1" }, /^input\.name may not contain U\+001B/],
    ["a control character in a node name", { name: "rig\u0008-2" }, /^input\.name may not contain U\+0008/],
    ["a bidi override in a node name", { name: "rig-\u202Eevil" }, /^input\.name may not contain U\+202E/],
    ["a zero-width space in the agent version", { name: "rig-3", agentVersion: "1.0\u200B" }, /^input\.agentVersion may not contain U\+200B/],
  ])("refuses %s with BAD_USER_INPUT naming the field, storing nothing", async (_what, input, message) => {
    const r = await register(input);
    expect(codeOf(r)).toBe("BAD_USER_INPUT");
    expect(r.errors![0].message).toMatch(message);
    expect(await nodeNames()).not.toContain((input as { name: string }).name);
  });

  it("refuses a GPU model with a bidi isolate, naming its place in the list", async () => {
    const r = await register({ name: "rig-4", gpus: [{ ...m.gpu(1), model: `NVIDIA \u2066${m.model}` }] });
    expect(r.errors![0].message).toMatch(/^input\.gpus\[0\]\.model may not contain U\+2066/);
  });

  it("takes names in any script, with emoji", async () => {
    const name = `nœud 東京 👩‍💻 ${Date.now()}`;
    const r = await register({ name });
    expect(r.errors).toBeUndefined();
    expect(await nodeNames()).toContain(name);
  });

  it("refuses a bidi override in a job's image, and an escape in an env value, over HTTP and WebSocket alike", async () => {
    const image = await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, {}, { image: "ghcr.io/acme/\u202Egnp.exe:1" }) }, client.token);
    expect(codeOf(image)).toBe("BAD_USER_INPUT");
    expect(image.errors![0].message).toMatch(/^input\.image may not contain U\+202E/);
    const ws = wsClient(server.wsUrl, client.token);
    const env = await wsRequest(ws, op("SubmitJob"), { input: jobInput(m.model, {}, { env: [{ name: "MODE", value: "\u001b]0;pwned\u0007" }] }) });
    await ws.dispose();
    expect(codeOf(env)).toBe("BAD_USER_INPUT");
    expect(env.errors![0].message).toMatch(/^input\.env\[0\]\.value may not contain U\+001B/);
    const [{ n }] = await server.system.db.query(`SELECT count(*)::int AS n FROM jobs WHERE client_id = $1`, [client.accountId]);
    expect(n).toBe(0);
  });

  it("takes line breaks in a command's arguments and a source's description, not elsewhere", async () => {
    const job = await gql(server.url, op("SubmitJob"), { input: jobInput(m.model, {}, { command: ["python", "-c", "import sys\nprint(sys.argv)"] }) }, client.token);
    expect(job.errors).toBeUndefined();
    const source = await gql(server.url, op("PublishSource"), { input: { name: `src-${Date.now()}`, kind: "BATCH", image: "ghcr.io/acme/x:1", description: "Line one.\nLine two." } }, client.token);
    expect(source.errors).toBeUndefined();
    const named = await gql(server.url, op("PublishSource"), { input: { name: "two\nlines", kind: "BATCH", image: "ghcr.io/acme/x:1" } }, client.token);
    expect(named.errors![0].message).toMatch(/^input\.name may not contain U\+000A/);
    const key = await gql(server.url, op("CreateApiKey"), { name: "ci\u200Frunner" }, client.token);
    expect(codeOf(key)).toBe("BAD_USER_INPUT");
    expect(key.errors![0].message).toMatch(/^name may not contain U\+200F/);
  });

  it("refuses the same in the relay's job body", async () => {
    const key = (await gql(server.url, op("CreateApiKey"), { name: "relay" }, client.token)).data!.createApiKey.secret as string;
    const res = await fetch(server.url.replace("/graphql", "/relay/v1/jobs"), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "idempotency-key": "ft-1" },
      body: JSON.stringify({ kind: "BATCH", image: "ghcr.io/acme/\u202Eexe.png:1", requirements: { gpuCount: 1, minVramGb: 40, maxPriceUsdPerGpuHour: "1", maxDurationSeconds: 60 } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("BAD_USER_INPUT");
    expect(body.error.message).toMatch(/^image may not contain U\+202E/);
  });
});
