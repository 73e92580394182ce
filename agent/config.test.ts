import { parseDecimal } from "../pricing/units";
import { AgentConfigError, parseAgentConfig, parseGpuSpec, rootRefusal } from "./config";

const defaults = { hostname: "gpu-box-1", homeDir: "/home/prov", cwd: "/srv" };
const base = ["--api-key", "k3y", "--region", "eu-central", "--price", "2.5"];

function flagOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentConfigError) return err.flag;
    throw err;
  }
  throw new Error("no error thrown");
}

describe("parseAgentConfig", () => {
  it("applies the defaults", () => {
    const c = parseAgentConfig(base, {}, defaults);
    expect(c).toMatchObject({
      apiUrl: "http://127.0.0.1:4000/graphql",
      apiKey: "k3y",
      nodeName: "gpu-box-1",
      region: "eu-central",
      declaredGpus: [],
      pricing: { kind: "fixed", priceWei: parseDecimal("2.5") },
      executor: "process",
      workDir: "/home/prov/.gpu-exchange/work",
      allowRoot: false,
      heartbeatS: 5,
      pollS: 5,
      repriceS: 60,
      maxJobs: 1,
      uploadTries: 8,
      offerGpus: null,
      logLevel: "info",
    });
  });

  it("reads every flag", () => {
    const c = parseAgentConfig(
      [
        "--api", "https://gx.example/graphql", "--api-key-file", "~/key", "--name", "rack-7", "--region", "us-east",
        "--gpus", "NVIDIA H100 80GB HBM3:80:8", "--gpus", "GeForce RTX 4090:24:2,NVIDIA A100-SXM4-80GB:80:1",
        "--price-floor", "1", "--price-ceiling", "3.25", "--executor", "container", "--work-dir", "scratch", "--allow-root",
        "--heartbeat-s", "7", "--poll-s", "2", "--reprice-s", "30", "--max-jobs", "4", "--offer-gpus", "6", "--log-level", "debug",
        "--upload-tries", "3",
      ],
      {},
      defaults,
    );
    expect(c).toMatchObject({
      apiUrl: "https://gx.example/graphql",
      apiKeyFile: "/home/prov/key",
      nodeName: "rack-7",
      region: "us-east",
      declaredGpus: [
        { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 8 },
        { model: "GeForce RTX 4090", vramGb: 24, count: 2 },
        { model: "NVIDIA A100-SXM4-80GB", vramGb: 80, count: 1 },
      ],
      pricing: { kind: "follow", floorWei: parseDecimal("1"), ceilingWei: parseDecimal("3.25") },
      executor: "container",
      workDir: "/srv/scratch",
      allowRoot: true,
      heartbeatS: 7,
      pollS: 2,
      repriceS: 30,
      maxJobs: 4,
      uploadTries: 3,
      offerGpus: 6,
      logLevel: "debug",
    });
    expect(c.apiKey).toBeUndefined();
  });

  it("falls back to the environment, flags winning", () => {
    const env = {
      GX_API_KEY: "from-env",
      GX_REGION: "eu-west",
      GX_PRICE_FLOOR: "1",
      GX_PRICE_CEILING: "2",
      GX_GPUS: "NVIDIA H100 80GB HBM3:80:8,GeForce RTX 4090:24:1",
      GX_ALLOW_ROOT: "1",
      GX_MAX_JOBS: "3",
      GX_NODE_NAME: "env-name",
    };
    const c = parseAgentConfig(["--region", "ap-east"], env, defaults);
    expect(c).toMatchObject({ apiKey: "from-env", region: "ap-east", nodeName: "env-name", allowRoot: true, maxJobs: 3 });
    expect(c.pricing).toEqual({ kind: "follow", floorWei: parseDecimal("1"), ceilingWei: parseDecimal("2") });
    expect(c.declaredGpus).toHaveLength(2);
    const fixed = parseAgentConfig(["--price", "4"], env, defaults);
    expect(fixed.pricing).toEqual({ kind: "fixed", priceWei: parseDecimal("4") });
  });

  it("merges repeated declarations of one model", () => {
    const c = parseAgentConfig([...base, "--gpus", "NVIDIA H100 80GB HBM3:80:4", "--gpus", "H100:80:4"], {}, defaults);
    expect(c.declaredGpus).toEqual([{ model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 8 }]);
  });

  it.each([
    [["--region", "eu-central", "--price", "1"], "--api-key"],
    [["--api-key", "k", "--price", "1"], "--region"],
    [["--api-key", "k", "--region", "mars-north", "--price", "1"], "--region"],
    [["--api-key", "k", "--region", "eu-central"], "--price"],
    [[...base, "--price-floor", "1", "--price-ceiling", "2"], "--price"],
    [["--api-key", "k", "--region", "eu-central", "--price-floor", "1"], "--price-ceiling"],
    [["--api-key", "k", "--region", "eu-central", "--price-ceiling", "1"], "--price-floor"],
    [["--api-key", "k", "--region", "eu-central", "--price-floor", "3", "--price-ceiling", "2"], "--price-floor"],
    [["--api-key", "k", "--region", "eu-central", "--price", "-1"], "--price"],
    [["--api-key", "k", "--region", "eu-central", "--price", "0"], "--price"],
    [["--api-key", "k", "--region", "eu-central", "--price", "1e3"], "--price"],
    [[...base, "--api-key-file", "/k"], "--api-key-file"],
    [[...base, "--api", "ftp://x/graphql"], "--api"],
    [[...base, "--api", "not a url"], "--api"],
    [[...base, "--executor", "vm"], "--executor"],
    [[...base, "--heartbeat-s", "0"], "--heartbeat-s"],
    [[...base, "--poll-s", "1.5"], "--poll-s"],
    [[...base, "--max-jobs", "x"], "--max-jobs"],
    [[...base, "--upload-tries", "0"], "--upload-tries"],
    [[...base, "--offer-gpus", "0"], "--offer-gpus"],
    [[...base, "--log-level", "loud"], "--log-level"],
    [[...base, "--gpus", "H100:80"], "--gpus"],
    [[...base, "--gpus", "H100:eighty:8"], "--gpus"],
    [[...base, "--gpus", "H100:80:0"], "--gpus"],
    [[...base, "--gpus", "!!!:80:1"], "--gpus"],
    [[...base, "--bogus"], "--bogus"],
    [[...base, "--name"], "--name"],
  ])("rejects %j naming %s", (argv, flag) => {
    expect(flagOf(() => parseAgentConfig(argv, {}, defaults))).toBe(flag);
  });

  it("says what is wrong in the message", () => {
    expect(() => parseAgentConfig(["--api-key", "k", "--region", "x", "--price", "1"], {}, defaults)).toThrow(/--region: must be one of us-east/);
    expect(() => parseAgentConfig([...base, "--price-floor", "1"], {}, defaults)).toThrow(/choose one mode/);
  });
});

describe("parseGpuSpec", () => {
  it("splits on the last two colons", () => {
    expect(parseGpuSpec("NVIDIA H100 80GB HBM3:80:8")).toEqual({ model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 8 });
    expect(parseGpuSpec("NVIDIA RTX A6000 : 48 : 2")).toEqual({ model: "NVIDIA RTX A6000", vramGb: 48, count: 2 });
    expect(() => parseGpuSpec("H100:80:80:8")).toThrow(/not a model name/);
  });

  it("refuses specs without three parts", () => {
    expect(() => parseGpuSpec("H100")).toThrow(/MODEL:VRAM_GB:COUNT/);
    expect(() => parseGpuSpec(":80:8")).toThrow(/MODEL:VRAM_GB:COUNT/);
  });
});

describe("rootRefusal", () => {
  it("refuses root unless allowed", () => {
    expect(rootRefusal(0, false)).toMatch(/refusing to run as root.*--allow-root/);
    expect(rootRefusal(0, true)).toBeNull();
    expect(rootRefusal(1000, false)).toBeNull();
    expect(rootRefusal(undefined, false)).toBeNull();
  });
});

describe("watchtower mode", () => {
  it("is off by default, on with a chain node and a key file (from flags or environment)", () => {
    expect(parseAgentConfig(base, {}, defaults).watchtower).toBeUndefined();
    expect(parseAgentConfig([...base, "--watchtower-rpc", "http://node:8545", "--watchtower-key-file", "~/tower.key"], {}, defaults).watchtower).toEqual({
      rpcUrl: "http://node:8545",
      keyFile: "/home/prov/tower.key",
      intervalS: 30,
    });
    expect(parseAgentConfig(base, { GX_WATCHTOWER_RPC: "https://rpc.ogpu", GX_WATCHTOWER_KEY_FILE: "keys/t.key", GX_WATCHTOWER_S: "5" }, defaults).watchtower).toEqual({
      rpcUrl: "https://rpc.ogpu",
      keyFile: "/srv/keys/t.key",
      intervalS: 5,
    });
  });

  it("refuses one without the other, a URL that is not http(s), and a bad interval", () => {
    expect(flagOf(() => parseAgentConfig([...base, "--watchtower-rpc", "http://node:8545"], {}, defaults))).toBe("--watchtower-key-file");
    expect(flagOf(() => parseAgentConfig([...base, "--watchtower-key-file", "/k"], {}, defaults))).toBe("--watchtower-rpc");
    expect(flagOf(() => parseAgentConfig([...base, "--watchtower-rpc", "ws://node:8546", "--watchtower-key-file", "/k"], {}, defaults))).toBe("--watchtower-rpc");
    expect(flagOf(() => parseAgentConfig([...base, "--watchtower-rpc", "http://n", "--watchtower-key-file", "/k", "--watchtower-s", "0"], {}, defaults))).toBe("--watchtower-s");
  });
});
