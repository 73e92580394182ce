import { MatchingError } from "./errors";
import { assertRequirements } from "./requirements";
import type { Requirements } from "./types";
import { requirements } from "./test-builders";

const req: Requirements = requirements({ gpuCount: 2, minVramGb: 40, gpuModels: ["H100"], region: "eu-west", maxLatencyMs: 80, minReputation: 0.8, maxPriceWei: 10n ** 18n, redundancy: 2 });

function failure(change: Partial<Requirements>): MatchingError {
  try {
    assertRequirements({ ...req, ...change });
  } catch (e) {
    expect(e).toBeInstanceOf(MatchingError);
    return e as MatchingError;
  }
  throw new Error("expected a MatchingError");
}

describe("assertRequirements", () => {
  it("accepts valid requirements", () => {
    expect(() => assertRequirements(req)).not.toThrow();
    expect(() => assertRequirements({ ...req, gpuModels: null, region: null, maxLatencyMs: null, minReputation: null, maxPriceWei: null, minVramGb: 0 })).not.toThrow();
  });
  it("names the field and the value", () => {
    expect(failure({ gpuCount: 0 }).message).toBe("requirements.gpuCount must be a whole number from 1 to 1024, got 0");
    expect(failure({ gpuCount: 0 }).code).toBe("INVALID_REQUIREMENTS");
  });
  it.each<[Partial<Requirements>, string, RegExp]>([
    [{ gpuCount: 1025 }, "INVALID_REQUIREMENTS", /gpuCount/],
    [{ gpuCount: 1.5 }, "INVALID_REQUIREMENTS", /gpuCount/],
    [{ minVramGb: -1 }, "INVALID_REQUIREMENTS", /minVramGb/],
    [{ minVramGb: 1025 }, "INVALID_REQUIREMENTS", /minVramGb/],
    [{ gpuModels: [""] }, "INVALID_REQUIREMENTS", /gpuModels/],
    [{ maxLatencyMs: 0 }, "INVALID_REQUIREMENTS", /maxLatencyMs/],
    [{ maxLatencyMs: 2.5 }, "INVALID_REQUIREMENTS", /maxLatencyMs/],
    [{ minReputation: 1.1 }, "INVALID_REQUIREMENTS", /minReputation/],
    [{ minReputation: Number.NaN }, "INVALID_REQUIREMENTS", /minReputation/],
    [{ maxPriceWei: -1n }, "INVALID_REQUIREMENTS", /maxPriceWei/],
    [{ redundancy: 0 }, "INVALID_REQUIREMENTS", /redundancy must be a whole number from 1 to 10/],
    [{ redundancy: 11 }, "INVALID_REQUIREMENTS", /redundancy/],
    [{ region: "mars" }, "UNKNOWN_REGION", /unknown region "mars"/],
    [{ weights: { price: 0, latency: 0, vram: 0, reputation: 0 } }, "INVALID_WEIGHTS", /weights/],
  ])("refuses %j", (change, code, message) => {
    const e = failure(change);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});
