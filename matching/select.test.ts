import fc from "fast-check";
import { exclusionOf, latencyMsOf } from "./filters";
import { scoreOf } from "./score";
import { rankCandidates, selectOffers } from "./select";
import type { Candidate, MatchStrategy, Requirements } from "./types";
import { resolveWeights } from "./weights";
import { ONE, candidate, requirements } from "./test-builders";

const offer = candidate;
const req: Requirements = requirements({ maxPriceWei: 4n * ONE, strategy: "CHEAPEST" });

const REGION_IDS = ["us-east", "eu-west", "eu-central", "ap-east"];
const bookArb = fc
  .array(
    fc.record({
      ordinal: fc.integer({ min: 0, max: 12 }),
      providerId: fc.constantFrom("p1", "p2", "p3", "p4", "p5"),
      gpuModel: fc.constantFrom("H100", "A100", "RTX4090"),
      vramGb: fc.constantFrom(24, 40, 80),
      priceWei: fc.oneof(fc.constantFrom(ONE, 2n * ONE, 3n * ONE), fc.bigInt({ min: 0n, max: 5n * ONE })),
      availableGpus: fc.integer({ min: 0, max: 8 }),
      region: fc.constantFrom(...REGION_IDS),
      measuredLatencyMs: fc.option(fc.constantFrom(5, 40, 120, 400), { nil: null }),
      reputation: fc.oneof(fc.constantFrom(0.5, 0.8, 1), fc.double({ min: 0, max: 1, noNaN: true })),
      online: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
    }),
    { maxLength: 40 },
  )
  .map((rows) => rows.map((r, i): Candidate => ({ ...r, offerId: `o${i}`, nodeId: `n${i % 7}` })));
const reqArb = fc.record<Requirements>({
  gpuCount: fc.integer({ min: 1, max: 8 }),
  minVramGb: fc.constantFrom(0, 24, 40, 80, 100),
  gpuModels: fc.option(fc.subarray(["H100", "A100", "RTX4090"]), { nil: null }),
  region: fc.option(fc.constantFrom(...REGION_IDS), { nil: null }),
  maxLatencyMs: fc.option(fc.constantFrom(10, 50, 100, 200), { nil: null }),
  minReputation: fc.option(fc.constantFrom(0, 0.5, 0.8, 0.95), { nil: null }),
  maxPriceWei: fc.option(fc.oneof(fc.constantFrom(0n, ONE, 2n * ONE, 3n * ONE), fc.bigInt({ min: 0n, max: 6n * ONE })), { nil: null }),
  redundancy: fc.integer({ min: 1, max: 3 }),
  strategy: fc.constantFrom<MatchStrategy>("BALANCED", "CHEAPEST", "FASTEST", "MOST_RELIABLE"),
  weights: fc.option(
    fc.record({ price: fc.constantFrom(0, 1, 2), latency: fc.constantFrom(0, 1), vram: fc.constantFrom(0, 1), reputation: fc.constantFrom(0, 1, 3) }).filter((w) => w.price + w.latency + w.vram + w.reputation > 0),
    { nil: null },
  ),
});
const excludeArb = fc.option(fc.subarray(["p1", "p2", "p3"]).map((a) => new Set(a)), { nil: undefined });

describe("rankCandidates", () => {
  it("orders by score, then ordinal, then offerId", () => {
    const book = [offer("c", { ordinal: 5 }), offer("a", { priceWei: 3n * ONE }), offer("b", { ordinal: 5 }), offer("d", { ordinal: 1 })];
    expect(rankCandidates(book, req).map((c) => c.offerId)).toEqual(["d", "b", "c", "a"]);
  });
  it("leaves out ineligible offers", () => {
    const book = [offer("cheap-offline", { priceWei: 1n, online: false }), offer("ok"), offer("dear", { priceWei: 5n * ONE })];
    expect(rankCandidates(book, req).map((c) => c.offerId)).toEqual(["ok"]);
  });
  it("follows the strategy", () => {
    const book = [offer("cheap-far", { priceWei: ONE, region: "ap-east" }), offer("dear-near", { priceWei: 3n * ONE, region: "eu-central" })];
    const near = { ...req, region: "eu-west" };
    expect(rankCandidates(book, { ...near, strategy: "CHEAPEST" })[0].offerId).toBe("cheap-far");
    expect(rankCandidates(book, { ...near, strategy: "FASTEST" })[0].offerId).toBe("dear-near");
    expect(rankCandidates(book, { ...near, strategy: "FASTEST", weights: { price: 1, latency: 0, vram: 0, reputation: 0 } })[0].offerId).toBe("cheap-far");
  });
});

describe("selectOffers", () => {
  it("takes one offer per provider, up to the redundancy", () => {
    const book = [offer("a1", { providerId: "a", priceWei: ONE }), offer("a2", { providerId: "a", priceWei: ONE + 1n }), offer("b1", { providerId: "b", priceWei: 3n * ONE })];
    expect(selectOffers(book, { ...req, redundancy: 2 }).map((c) => c.offerId)).toEqual(["a1", "b1"]);
    expect(selectOffers(book, { ...req, redundancy: 3 }).map((c) => c.offerId)).toEqual(["a1", "b1"]);
    expect(selectOffers(book, req, { count: 0 })).toEqual([]);
    expect(selectOffers(book, req, { excludeProviders: new Set(["a"]) }).map((c) => c.offerId)).toEqual(["b1"]);
  });

  it("never chooses an offer that breaks a requirement, and chooses distinct providers", () => {
    fc.assert(
      fc.property(bookArb, reqArb, excludeArb, (book, r, exclude) => {
        const chosen = selectOffers(book, r, { excludeProviders: exclude });
        expect(chosen.length).toBeLessThanOrEqual(r.redundancy);
        expect(new Set(chosen.map((c) => c.providerId)).size).toBe(chosen.length);
        for (const c of chosen) {
          expect(c.online).toBe(true);
          if (r.maxPriceWei !== null) expect(c.priceWei <= r.maxPriceWei).toBe(true);
          expect(c.availableGpus).toBeGreaterThanOrEqual(r.gpuCount);
          expect(c.vramGb).toBeGreaterThanOrEqual(r.minVramGb);
          if (r.gpuModels && r.gpuModels.length > 0) expect(r.gpuModels).toContain(c.gpuModel);
          if (r.minReputation !== null) expect(c.reputation).toBeGreaterThanOrEqual(r.minReputation);
          if (r.region !== null && r.maxLatencyMs !== null) expect(latencyMsOf(c, r.region)!).toBeLessThanOrEqual(r.maxLatencyMs);
          if (exclude) expect(exclude.has(c.providerId)).toBe(false);
        }
      }),
    );
  });

  it("is greedy: fewer than asked only when no eligible provider is left, and nothing skipped beats a choice", () => {
    fc.assert(
      fc.property(bookArb, reqArb, (book, r) => {
        const chosen = selectOffers(book, r);
        const eligible = book.filter((c) => exclusionOf(c, r) === null);
        const providers = new Set(eligible.map((c) => c.providerId));
        expect(chosen.length).toBe(Math.min(r.redundancy, providers.size));
        const w = resolveWeights(r.strategy, r.weights);
        if (chosen.length > 0) {
          const best = Math.min(...eligible.map((c) => scoreOf(c, r, w)));
          expect(scoreOf(chosen[0], r, w)).toBe(best);
        }
      }),
    );
  });

  it("gives the same answer whatever the order of the input", () => {
    fc.assert(
      fc.property(
        bookArb.chain((book) => fc.tuple(fc.constant(book), fc.shuffledSubarray(book, { minLength: book.length, maxLength: book.length }))),
        reqArb,
        ([book, shuffled], r) => {
          const ids = (cs: Candidate[]) => cs.map((c) => c.offerId);
          expect(ids(selectOffers(shuffled, r))).toEqual(ids(selectOffers(book, r)));
          expect(ids(rankCandidates(shuffled, r))).toEqual(ids(rankCandidates(book, r)));
          expect(ids(selectOffers(book, r))).toEqual(ids(selectOffers(book, r)));
        },
      ),
    );
  });
});
