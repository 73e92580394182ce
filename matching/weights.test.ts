import { MatchingError } from "./errors";
import { resolveWeights, STRATEGY_WEIGHTS } from "./weights";

describe("resolveWeights", () => {
  it("has four strategies whose weights sum to 1", () => {
    for (const w of Object.values(STRATEGY_WEIGHTS)) expect(w.price + w.latency + w.vram + w.reputation).toBeCloseTo(1, 12);
    expect(STRATEGY_WEIGHTS.CHEAPEST.price).toBe(0.85);
    expect(STRATEGY_WEIGHTS.FASTEST.latency).toBe(0.7);
    expect(STRATEGY_WEIGHTS.MOST_RELIABLE.reputation).toBe(0.7);
  });
  it("takes the strategy's weights without explicit ones", () => {
    const w = resolveWeights("BALANCED", null);
    expect(w.price).toBeCloseTo(0.4, 12);
    expect(w.reputation).toBeCloseTo(0.3, 12);
  });
  it("lets explicit weights win, normalized to sum 1", () => {
    expect(resolveWeights("CHEAPEST", { price: 1, latency: 1, vram: 0, reputation: 2 })).toEqual({ price: 0.25, latency: 0.25, vram: 0, reputation: 0.5 });
  });
  it.each([
    { price: -1, latency: 1, vram: 1, reputation: 1 },
    { price: Number.NaN, latency: 1, vram: 1, reputation: 1 },
    { price: Number.POSITIVE_INFINITY, latency: 0, vram: 0, reputation: 0 },
    { price: 0, latency: 0, vram: 0, reputation: 0 },
  ])("refuses %j", (w) => {
    expect(() => resolveWeights("BALANCED", w)).toThrow(MatchingError);
    try {
      resolveWeights("BALANCED", w);
    } catch (e) {
      expect((e as MatchingError).code).toBe("INVALID_WEIGHTS");
    }
  });
});
