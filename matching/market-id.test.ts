import { marketIdOf, normalizeGpuModel, parseMarketId } from "./market-id";
import { estimateLatencyMs, regionById, REGIONS } from "./regions";
import { MatchingError } from "./errors";

describe("market ids", () => {
  it.each([
    ["NVIDIA H100 80GB HBM3", "H100"],
    ["H100-80GB", "H100"],
    ["GeForce RTX 4090", "RTX4090"],
    ["NVIDIA GeForce RTX 4090", "RTX4090"],
    ["NVIDIA A100-SXM4-80GB", "A100"],
    ["NVIDIA A100-PCIE-40GB", "A100"],
    ["Tesla V100-SXM2-16GB", "V100"],
    ["NVIDIA RTX A6000", "RTXA6000"],
    ["AMD Instinct MI300X", "MI300X"],
    ["rtx4090", "RTX4090"],
  ])("normalizes %j to %s", (name, model) => {
    expect(normalizeGpuModel(name)).toBe(model);
  });
  it("makes one market of the names of one GPU", () => {
    expect(marketIdOf("NVIDIA H100 80GB HBM3", 80)).toBe("H100-80GB");
    expect(marketIdOf("H100-80GB", 80)).toBe("H100-80GB");
    expect(marketIdOf("GeForce RTX 4090", 24)).toBe("RTX4090-24GB");
  });
  it.each(["", "NVIDIA", "80GB", "H100;DROP", "x".repeat(40)])("refuses %j", (name) => {
    expect(() => normalizeGpuModel(name)).toThrow(MatchingError);
  });
  it("refuses silly memory sizes", () => {
    expect(() => marketIdOf("H100", 0)).toThrow(MatchingError);
    expect(() => marketIdOf("H100", 1.5)).toThrow(MatchingError);
  });
  it("parses market ids", () => {
    expect(parseMarketId("h100-80gb").id).toBe("H100-80GB");
    expect(() => parseMarketId("H100")).toThrow(MatchingError);
  });
});

describe("regions", () => {
  it("has the sixteen regions of the contract", () => {
    expect(REGIONS).toHaveLength(16);
    expect(() => regionById("mars-north")).toThrow(/unknown region/);
  });
  it("estimates latency as 5 ms plus km / 100", () => {
    expect(estimateLatencyMs(regionById("eu-west"), regionById("eu-west"))).toBe(5);
    const ms = estimateLatencyMs(regionById("us-east"), regionById("eu-central"));
    expect(ms).toBeGreaterThan(60);
    expect(ms).toBeLessThan(75);
  });
});
