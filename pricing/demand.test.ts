import fc from "fast-check";
import { bidDemandGpus, demandGpus, FULL_REST_MS, MIN_REST_MS, restFactor, type RestingBid } from "./demand";
import { PricingError } from "./errors";
import { suggestPrice } from "./suggested-price";

const OGPU = 10n ** 18n;
const NOW = 1_800_000_000_000;
const MINUTE = 60_000;
/** Escrow of a bid at `capWei` for `gpus` GPUs over `seconds` (cap × GPUs × seconds / 3600, as submitJob holds it). */
const hold = (capWei: bigint, gpus: number, seconds: number) => (capWei * BigInt(gpus) * BigInt(seconds)) / 3600n;
const bid = (gpus: number, holdWei: bigint, restedMs: number): RestingBid => ({ gpus, holdWei, restingSinceMs: NOW - restedMs });

describe("restFactor", () => {
  it("is 0 up to a minute, grows linearly, and is 1 from ten minutes", () => {
    expect(restFactor(2_000)).toBe(0);
    expect(restFactor(MIN_REST_MS)).toBe(0);
    expect(restFactor(MIN_REST_MS + 54_000)).toBeCloseTo(0.1, 12);
    expect(restFactor(FULL_REST_MS)).toBe(1);
    expect(restFactor(10 * FULL_REST_MS)).toBe(1);
    expect(restFactor(-5)).toBe(0);
  });
});

describe("bidDemandGpus", () => {
  const ref = 2n * OGPU;
  it("counts a GPU per reference GPU-hour the escrow holds, at most the bid's GPUs, times the rest factor", () => {
    expect(bidDemandGpus(bid(8, hold(ref, 8, 7200), FULL_REST_MS), ref, NOW)).toBe(8);
    expect(bidDemandGpus(bid(64, hold(ref, 64, 60), FULL_REST_MS), ref, NOW)).toBeCloseTo(64 / 60, 5);
    // a cap at half the reference holds half as much
    expect(bidDemandGpus(bid(4, hold(ref / 2n, 4, 3600), FULL_REST_MS), ref, NOW)).toBe(2);
    expect(bidDemandGpus(bid(8, hold(ref, 8, 7200), MIN_REST_MS + 270_000), ref, NOW)).toBe(4);
  });
  it("gives nothing for a bid without escrow or that rested a minute or less", () => {
    expect(bidDemandGpus(bid(64, 0n, FULL_REST_MS), ref, NOW)).toBe(0);
    expect(bidDemandGpus(bid(64, hold(ref, 64, 3600), 2_000), ref, NOW)).toBe(0);
    expect(bidDemandGpus(bid(64, hold(ref, 64, 3600), -FULL_REST_MS), ref, NOW)).toBe(0);
  });
  it("refuses bad input", () => {
    expect(() => bidDemandGpus(bid(-1, 0n, 0), ref, NOW)).toThrow(PricingError);
    expect(() => bidDemandGpus(bid(1, -1n, 0), ref, NOW)).toThrow(PricingError);
    expect(() => bidDemandGpus(bid(1, 0n, 0), -1n, NOW)).toThrow(PricingError);
    expect(() => bidDemandGpus(bid(1, 0n, 0), ref, Number.NaN)).toThrow(PricingError);
  });
});

describe("suggested price under spoofing", () => {
  const book = fc.record({
    referenceWei: fc.bigInt({ min: 10n ** 12n, max: 10n ** 21n }),
    utilization: fc.double({ min: 0, max: 1, noNaN: true }),
    askGpus: fc.integer({ min: 0, max: 512 }),
    honest: fc.array(fc.record({ gpus: fc.integer({ min: 1, max: 64 }), holdHours: fc.integer({ min: 0, max: 100 }), restedMs: fc.integer({ min: 0, max: 3 * FULL_REST_MS }) }), { maxLength: 10 }),
  });
  const spoofs = (restedMs: fc.Arbitrary<number>, withEscrow: boolean) =>
    fc.array(fc.record({ gpus: fc.integer({ min: 1, max: 64 * 8 }), holdWei: withEscrow ? fc.bigInt({ min: 0n, max: 10n ** 27n }) : fc.constant(0n), restedMs: withEscrow ? restedMs : fc.integer({ min: 0, max: 100 * FULL_REST_MS }) }), { minLength: 1, maxLength: 50 });
  const honestBids = (b: { referenceWei: bigint; honest: { gpus: number; holdHours: number; restedMs: number }[] }) => b.honest.map((h) => bid(h.gpus, b.referenceWei * BigInt(h.gpus * h.holdHours), h.restedMs));
  const suggested = (b: { referenceWei: bigint; utilization: number; askGpus: number }, bids: RestingBid[]) =>
    suggestPrice({ referenceWei: b.referenceWei, utilization: b.utilization, bidGpus: demandGpus(bids, b.referenceWei, NOW), askGpus: b.askGpus }).priceWei;

  it("replays the black-box spoof: 20 bids of 64 GPUs placed and cancelled within seconds change nothing", () => {
    const ref = 43_800_000_000_000_000_000n;
    const honest = [bid(2, hold(ref, 2, 3600), FULL_REST_MS)];
    const spoof = Array.from({ length: 20 }, (_, i) => bid(64, hold(ref, 64, 3600), 2_000 + i * 100));
    const before = suggestPrice({ referenceWei: ref, utilization: 0, bidGpus: demandGpus(honest, ref, NOW), askGpus: 8 });
    const during = suggestPrice({ referenceWei: ref, utilization: 0, bidGpus: demandGpus([...honest, ...spoof], ref, NOW), askGpus: 8 });
    expect(during).toEqual(before);
  });

  it("bids that rested a minute or less, or hold no escrow, leave the suggested price exactly where it was", () => {
    fc.assert(
      fc.property(book, fc.oneof(spoofs(fc.integer({ min: -MINUTE, max: MIN_REST_MS }), true), spoofs(fc.constant(0), false)), (b, s) => {
        const honest = honestBids(b);
        expect(suggested(b, [...honest, ...s.map((x) => bid(x.gpus, x.holdWei, x.restedMs))])).toBe(suggested(b, honest));
      }),
    );
  });

  it("otherwise moves it by at most S / (a + b) + 1/5000 of itself, plus 1 wei, S the demand the bids add", () => {
    fc.assert(
      fc.property(book, spoofs(fc.integer({ min: 0, max: 2 * FULL_REST_MS }), true), (b, s) => {
        const honest = honestBids(b);
        const added = s.map((x) => bid(x.gpus, x.holdWei, x.restedMs));
        const a = b.askGpus;
        const before = demandGpus(honest, b.referenceWei, NOW);
        fc.pre(a + before > 0);
        const S = demandGpus(added, b.referenceWei, NOW);
        const p0 = suggested(b, honest);
        const p1 = suggested(b, [...honest, ...added]);
        expect(Math.abs(Number(p1 - p0))).toBeLessThanOrEqual(Number(p0) * (S / (a + before) + 1 / 5000) + 1);
      }),
    );
  });

  it("follows genuine demand: backed bids that rested ten minutes, as many GPUs as are offered, raise it by 20% or more", () => {
    fc.assert(
      fc.property(book, fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (b, sizes) => {
        const askGpus = Math.max(1, Math.min(b.askGpus, sizes.reduce((x, y) => x + y, 0)));
        const genuine = sizes.map((g) => bid(g, hold(b.referenceWei, g, 3600), FULL_REST_MS));
        const before = suggestPrice({ referenceWei: b.referenceWei, utilization: b.utilization, bidGpus: 0, askGpus }).priceWei;
        const after = suggestPrice({ referenceWei: b.referenceWei, utilization: b.utilization, bidGpus: demandGpus(genuine, b.referenceWei, NOW), askGpus }).priceWei;
        expect(Number(after) / Number(before)).toBeGreaterThanOrEqual(1.2);
      }),
    );
  });
});
