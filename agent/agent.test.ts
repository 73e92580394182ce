import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startAgent } from "./agent";
import { AgentConfigError, parseAgentConfig } from "./config";
import type { ExecFile } from "./exec-file";
import { assignmentOf, FakeApi } from "./fake-api";
import { captureLogger } from "./test-logger";

const COUNTER = path.join(__dirname, "examples", "checkpoint-counter.js");
const noNvidiaSmi: ExecFile = async (file) => {
  throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: "ENOENT" });
};

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("startAgent with declared GPUs and a fake API", () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "gx-agent-"));
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  function fakeApi(): FakeApi {
    const api = new FakeApi();
    const offers: { id: string; market: string; pricePerGpuHour: string; availableGpus: number }[] = [];
    api.overrides.set("RegisterNode", (vars) => ({ registerNode: { id: "n1", name: (vars.input as { name: string }).name, region: "eu-central", status: "ONLINE" } }));
    api.overrides.set("Heartbeat", () => ({ heartbeat: { nodeId: "n1", status: "ONLINE", serverTime: new Date().toISOString() } }));
    api.overrides.set("MyNodes", () => ({ myNodes: [{ id: "n1", name: "box", offers }] }));
    api.overrides.set("PostOffer", (vars) => {
      const input = vars.input as { pricePerGpuHour: string; gpuCount: number };
      offers.push({ id: "o1", market: "H100-80GB", pricePerGpuHour: input.pricePerGpuHour, availableGpus: input.gpuCount });
      return { postOffer: { id: "o1", market: "H100-80GB", pricePerGpuHour: input.pricePerGpuHour, gpuCount: input.gpuCount, status: "OPEN" } };
    });
    api.overrides.set("CancelOffer", (vars) => ({ cancelOffer: { id: vars.id, status: "CANCELLED" } }));
    return api;
  }

  function config(extra: string[] = []) {
    return parseAgentConfig(
      ["--api-key", "k", "--region", "eu-central", "--gpus", "NVIDIA H100 80GB HBM3:80:2", "--price", "2.5", "--work-dir", work, "--heartbeat-s", "1", "--poll-s", "1", ...extra],
      {},
      { hostname: "box", homeDir: work, cwd: work },
    );
  }

  it("registers, fails leftovers, heartbeats, posts an offer, runs work, and cancels the offer on stop", async () => {
    const api = fakeApi();
    await mkdir(path.join(work, "n1", "stale-1"), { recursive: true });
    const { logger, records } = captureLogger("info");
    const agent = await startAgent({ config: config(), apiKey: "k", logger, host: { PATH: "/usr/bin:/bin" }, uid: 1000, gid: 1000, exec: noNvidiaSmi, client: api, transfer: api });
    expect(agent.nodeId).toBe("n1");
    const input = api.callsOf("RegisterNode")[0].input as Record<string, unknown>;
    expect(input).toMatchObject({ name: "box", region: "eu-central", gpus: [{ model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 2 }], agentVersion: expect.any(String) });
    expect(input.cpuCores).toBeGreaterThan(0);
    expect(api.callsOf("FailAssignment")[0]).toMatchObject({ id: "stale-1" });

    await until(() => api.callsOf("PostOffer").length === 1 && api.callsOf("Heartbeat").length > 0);
    expect(api.callsOf("Heartbeat")[0]).toEqual({ nodeId: "n1", metrics: null });
    expect(api.callsOf("PostOffer")[0]).toEqual({ input: { nodeId: "n1", pricePerGpuHour: "2.5", gpuCount: 2, cancelOnDisconnect: true } });

    api.offer(assignmentOf("a1", { command: [process.execPath, COUNTER], env: [{ name: "STEPS", value: "3" }, { name: "STEP_MS", value: "5" }] }));
    await until(() => api.callsOf("CompleteAssignment").length === 1);

    await agent.stop();
    expect(api.callsOf("CancelOffer")).toEqual([{ id: "o1" }]);
    expect(records.some((r) => r.msg === "no NVIDIA GPU found by nvidia-smi; using the GPUs declared by --gpus")).toBe(true);
    expect(JSON.stringify(records)).not.toContain('"k"');
    expect(await readdir(path.join(work, "n1"))).toEqual([]);
  });

  it("refuses to offer more GPUs than the node has", async () => {
    const api = fakeApi();
    await expect(
      startAgent({ config: config(["--offer-gpus", "3"]), apiKey: "k", logger: captureLogger("silent").logger, host: {}, uid: 1, gid: 1, exec: noNvidiaSmi, client: api, transfer: api }),
    ).rejects.toThrow(AgentConfigError);
    expect(api.callsOf("RegisterNode")).toEqual([]);
  });
});
