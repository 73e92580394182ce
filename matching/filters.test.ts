import { exclusionOf, latencyMsOf } from "./filters";
import { estimateLatencyMs, regionById } from "./regions";
import type { Candidate, Requirements } from "./types";
import { candidate, requirements } from "./test-builders";

const offer: Candidate = candidate("o1", { ordinal: 1, providerId: "p1", nodeId: "n1", availableGpus: 4, region: "eu-central" });
const req: Requirements = requirements({ gpuCount: 2, minVramGb: 40, gpuModels: ["H100", "A100"], region: "eu-west", maxLatencyMs: 50, minReputation: 0.8, maxPriceWei: 3n * 10n ** 18n });

describe("latencyMsOf", () => {
  it("estimates from the regions, prefers a measured figure, and is null without a job region", () => {
    expect(latencyMsOf(offer, "us-east")).toBe(estimateLatencyMs(regionById("us-east"), regionById("eu-central")));
    expect(latencyMsOf({ ...offer, measuredLatencyMs: 12.5 }, "us-east")).toBe(12.5);
    expect(latencyMsOf(offer, null)).toBeNull();
    expect(() => latencyMsOf(offer, "mars")).toThrow(/unknown region/);
  });
});

describe("exclusionOf", () => {
  it("passes an offer that meets every requirement", () => {
    expect(exclusionOf(offer, req)).toBeNull();
    expect(exclusionOf(offer, { ...req, gpuModels: null, region: null, minReputation: null, maxPriceWei: null })).toBeNull();
    expect(exclusionOf(offer, { ...req, gpuModels: [] })).toBeNull();
  });
  it.each<[Partial<Candidate>, Partial<Requirements>, string]>([
    [{ online: false, gpuModel: "V100", vramGb: 16, availableGpus: 0, priceWei: 10n ** 30n }, { selfAccounts: new Set(["p1"]) }, "SELF_TRADE"],
    [{ online: false, gpuModel: "V100", vramGb: 16, availableGpus: 0 }, { selfAccounts: new Set(["p9"]) }, "OFFLINE"],
    [{ online: false, gpuModel: "V100", vramGb: 16, availableGpus: 0 }, {}, "OFFLINE"],
    [{ gpuModel: "V100", vramGb: 16, availableGpus: 0 }, {}, "MODEL"],
    [{ vramGb: 24, availableGpus: 0 }, {}, "VRAM"],
    [{ availableGpus: 1, region: "ap-east" }, {}, "GPU_COUNT"],
    [{ region: "ap-east", reputation: 0.1 }, {}, "LATENCY"],
    [{ measuredLatencyMs: 51, reputation: 0.1 }, {}, "LATENCY"],
    [{ reputation: 0.79, priceWei: 4n * 10n ** 18n }, {}, "REPUTATION"],
    [{ priceWei: 3n * 10n ** 18n + 1n }, {}, "PRICE"],
  ])("names the first failing filter: %j -> %s", (change, reqChange, reason) => {
    expect(exclusionOf({ ...offer, ...change }, { ...req, ...reqChange })).toBe(reason);
  });
  it("checks latency only with both a region and a bound", () => {
    const far = { ...offer, region: "ap-east" };
    expect(exclusionOf(far, { ...req, maxLatencyMs: null })).toBeNull();
    expect(exclusionOf(far, { ...req, region: null })).toBeNull();
  });
  it("accepts the bounds themselves", () => {
    expect(exclusionOf({ ...offer, availableGpus: 2, vramGb: 40, reputation: 0.8, priceWei: req.maxPriceWei!, measuredLatencyMs: 50 }, req)).toBeNull();
  });
  it("excludes providers already running the job, last", () => {
    expect(exclusionOf(offer, req, new Set(["p1"]))).toBe("SAME_PROVIDER");
    expect(exclusionOf({ ...offer, priceWei: 10n ** 30n }, req, new Set(["p1"]))).toBe("PRICE");
    expect(exclusionOf(offer, req, new Set(["p2"]))).toBeNull();
  });
});

describe("the minimum stake", () => {
  it("excludes providers below the marketplace's minimum as STAKE, and nobody without one", () => {
    const job = requirements({ minStakeWei: 1000n });
    expect(exclusionOf(candidate("a", { stakeWei: 999n }), job)).toBe("STAKE");
    expect(exclusionOf(candidate("b", { stakeWei: 1000n }), job)).toBeNull();
    expect(exclusionOf(candidate("c"), job)).toBe("STAKE");
    expect(exclusionOf(candidate("d"), requirements())).toBeNull();
  });
});
