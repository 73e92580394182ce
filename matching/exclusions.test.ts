import { explainExclusions, explainShortfall } from "./exclusions";
import type { Candidate, Requirements } from "./types";
import { ONE, candidate, requirements } from "./test-builders";

const offer = candidate;
const req: Requirements = requirements({ gpuCount: 4, minVramGb: 40, gpuModels: ["H100", "A100"], region: "eu-west", maxLatencyMs: 80, minReputation: 0.8, maxPriceWei: 2n * ONE });
let serial = 0;
const many = (n: number, change: Partial<Candidate>) => Array.from({ length: n }, () => offer(`o${serial++}`, change));

describe("explainExclusions", () => {
  it("names self-trade first, in the singular and the plural", () => {
    const self = { ...req, selfAccounts: new Set(["me", "friend"]) };
    expect(explainExclusions([offer("a", { providerId: "me", vramGb: 24 }), offer("b", { providerId: "friend" }), offer("c")], self)).toEqual([
      { reason: "SELF_TRADE", offers: 2, message: "2 offers of your own account or an account related to it (self-trade prevention)" },
    ]);
    expect(explainExclusions([offer("a", { providerId: "me" })], self)[0].message).toBe("1 offer of your own account or an account related to it (self-trade prevention)");
  });

  it("counts each offer under its first failing reason, most offers first", () => {
    const book = [
      ...many(14, { vramGb: 24 }),
      ...many(5, { priceWei: 2n * ONE + 2n * 10n ** 17n }),
      offer("dearest", { priceWei: 2n * ONE + 23n * 10n ** 16n + 1n }),
      ...many(3, { online: false, vramGb: 24 }),
      ...many(2, { availableGpus: 3 }),
      ...many(5, { gpuModel: "V100" }),
      ...many(4, { region: "ap-east" }),
      offer("shaky", { reputation: 0.5 }),
      offer("mine", { providerId: "me" }),
      offer("ok"),
    ];
    expect(explainExclusions(book, req, new Set(["me"]))).toEqual([
      { reason: "VRAM", offers: 14, message: "14 offers below 40 GB VRAM" },
      { reason: "PRICE", offers: 6, message: "6 offers above your price cap by 12% or less" },
      { reason: "MODEL", offers: 5, message: "5 offers not of model H100 or A100" },
      { reason: "LATENCY", offers: 4, message: "4 offers over 80 ms away" },
      { reason: "OFFLINE", offers: 3, message: "3 offers on offline nodes" },
      { reason: "GPU_COUNT", offers: 2, message: "2 offers with fewer than 4 free GPUs" },
      { reason: "REPUTATION", offers: 1, message: "1 offer below reputation 0.8" },
      { reason: "SAME_PROVIDER", offers: 1, message: "1 offer from a provider already running this job" },
    ]);
  });
  it("speaks in the singular for one offer", () => {
    const messages = (book: Candidate[], r: Requirements = req) => explainExclusions(book, r, new Set(["a", "b"])).map((e) => e.message);
    expect(messages([offer("x", { online: false })])).toEqual(["1 offer on an offline node"]);
    expect(messages([offer("x", { vramGb: 24 })])).toEqual(["1 offer below 40 GB VRAM"]);
    expect(messages([offer("x", { gpuModel: "V100" })], { ...req, gpuModels: ["H100"] })).toEqual(["1 offer not of model H100"]);
    expect(messages([offer("x", { gpuModel: "V100" })], { ...req, gpuModels: ["H100", "A100", "L40S"] })).toEqual(["1 offer not of model H100, A100 or L40S"]);
    expect(messages([offer("x", { availableGpus: 0 })], { ...req, gpuCount: 1 })).toEqual(["1 offer with no free GPUs"]);
    expect(messages([offer("x", { priceWei: 2n * ONE + 1n })])).toEqual(["1 offer above your price cap by 1% or less"]);
    expect(messages([offer("x", { providerId: "a" }), offer("y", { providerId: "b" })])).toEqual(["2 offers from providers already running this job"]);
    expect(messages([offer("x", { priceWei: 1n })], { ...req, maxPriceWei: 0n })).toEqual(["1 offer above your price cap of 0"]);
  });
  it("orders equal counts by reason name and leaves eligible offers out", () => {
    expect(explainExclusions([offer("ok")], req)).toEqual([]);
    expect(explainExclusions([offer("x", { vramGb: 24 }), offer("y", { online: false })], req).map((e) => e.reason)).toEqual(["OFFLINE", "VRAM"]);
  });
});

describe("explainShortfall", () => {
  it("adds SAME_PROVIDER when the eligible offers come from fewer providers than the redundancy needs", () => {
    const same = requirements({ redundancy: 2 });
    const book = [candidate("a", { providerId: "p1" }), candidate("b", { providerId: "p1" }), candidate("c", { providerId: "p1", vramGb: 8 })];
    const out = explainShortfall(book, { ...same, minVramGb: 40 });
    expect(out).toEqual(expect.arrayContaining([expect.objectContaining({ reason: "VRAM", offers: 1 }), expect.objectContaining({ reason: "SAME_PROVIDER", offers: 1 })]));
    expect(explainShortfall([candidate("a", { providerId: "p1" }), candidate("b", { providerId: "p2" })], same).map((e) => e.reason)).not.toContain("SAME_PROVIDER");
  });
});
