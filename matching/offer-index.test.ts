import fc from "fast-check";
import { MatchingError } from "./errors";
import { OfferIndex } from "./offer-index";
import { selectOffers } from "./select";
import type { Candidate, MatchStrategy, Requirements } from "./types";
import { ONE, candidate, requirements } from "./test-builders";

const offer = candidate;
const req: Requirements = requirements();
const ids = (cs: readonly Candidate[]) => cs.map((c) => c.offerId);
const indexOf = (book: readonly Candidate[]) => {
  const index = new OfferIndex();
  for (const c of book) index.upsert(c);
  return index;
};

describe("OfferIndex", () => {
  it("holds, replaces and removes offers", () => {
    const index = indexOf([offer("a", { priceWei: ONE }), offer("b"), offer("c", { online: false, priceWei: 1n })]);
    expect(index.size).toBe(3);
    expect(ids(index.best(req))).toEqual(["a"]);
    index.upsert(offer("a", { priceWei: 3n * ONE }));
    expect(index.size).toBe(3);
    expect(ids(index.best(req))).toEqual(["b"]);
    index.remove("b");
    index.remove("missing");
    expect(index.size).toBe(2);
    expect(ids(index.best(req))).toEqual(["a"]);
    index.upsert(offer("c", { priceWei: 1n }));
    expect(ids(index.best(req, { count: 3 }))).toEqual(["c", "a"]);
  });
  it("breaks equal scores by ordinal, then offerId", () => {
    const index = indexOf([offer("z", { ordinal: 2 }), offer("y", { ordinal: 1 }), offer("x", { ordinal: 2 }), offer("w", { ordinal: 3, region: "ap-east" })]);
    expect(ids(index.best(req, { count: 4 }))).toEqual(["y", "x", "z", "w"]);
    expect(ids(index.best({ ...req, region: "eu-west" }, { count: 4 }))).toEqual(["y", "x", "z", "w"]);
  });
  it("chooses distinct providers and honours exclusions", () => {
    const index = indexOf([offer("a1", { providerId: "a", priceWei: ONE }), offer("a2", { providerId: "a", priceWei: ONE }), offer("b1", { providerId: "b" })]);
    expect(ids(index.best({ ...req, redundancy: 2 }))).toEqual(["a1", "b1"]);
    expect(ids(index.best(req, { excludeProviders: new Set(["a"]) }))).toEqual(["b1"]);
    expect(index.best(req, { count: 0 })).toEqual([]);
  });
  it("skips markets and offers that fail the hard filters", () => {
    const index = indexOf([
      offer("small", { vramGb: 24, gpuModel: "RTX4090", priceWei: 1n }),
      offer("far", { region: "ap-east", priceWei: 2n }),
      offer("measured-far", { measuredLatencyMs: 120, priceWei: 3n }),
      offer("few", { availableGpus: 1, priceWei: 4n }),
      offer("shaky", { reputation: 0.2, priceWei: 5n }),
      offer("ok", { priceWei: 6n }),
    ]);
    const r = { ...req, strategy: "CHEAPEST" as const, gpuCount: 2, minVramGb: 40, region: "eu-west", maxLatencyMs: 50, minReputation: 0.5 };
    expect(ids(index.best(r, { count: 5 }))).toEqual(["ok"]);
    expect(ids(index.best({ ...r, maxPriceWei: 5n }))).toEqual([]);
  });
  it("asks accept only of eligible offers and returns what selectOffers returns over those it accepts", () => {
    const index = indexOf([offer("a", { priceWei: 1n }), offer("b", { priceWei: 2n }), offer("c", { priceWei: 3n, providerId: "q" }), offer("d", { priceWei: 4n, availableGpus: 0 })]);
    const asked: string[] = [];
    const accept = (c: Candidate) => {
      asked.push(c.offerId);
      return c.offerId !== "a";
    };
    expect(ids(index.best({ ...req, strategy: "CHEAPEST" }, { count: 3, accept }))).toEqual(["b", "c"]);
    expect(asked).not.toContain("d");
    expect(index.get("b")?.priceWei).toBe(2n);
    expect(index.get("missing")).toBeUndefined();
  });
  it("refuses invalid offers and keeps the old one", () => {
    const index = indexOf([offer("a")]);
    expect(() => index.upsert(offer("a", { reputation: 2 }))).toThrow(MatchingError);
    expect(() => index.upsert(offer("a", { region: "mars" }))).toThrow(/unknown region/);
    expect(() => index.upsert(offer("a", { priceWei: -1n }))).toThrow(MatchingError);
    expect(() => index.upsert(offer("a", { availableGpus: 1.5 }))).toThrow(MatchingError);
    expect(ids(index.best(req))).toEqual(["a"]);
  });

  const REGION_IDS = ["us-east", "eu-west", "eu-central", "ap-east"];
  const rowArb = fc.record({
    ordinal: fc.integer({ min: 0, max: 10 }),
    providerId: fc.constantFrom("p1", "p2", "p3", "p4", "p5", "p6"),
    gpuModel: fc.constantFrom("H100", "A100"),
    vramGb: fc.constantFrom(40, 80),
    priceWei: fc.oneof(fc.constantFrom(ONE, 2n * ONE, 2n * ONE + 1n), fc.bigInt({ min: 0n, max: 4n * ONE })),
    availableGpus: fc.integer({ min: 0, max: 8 }),
    region: fc.constantFrom(...REGION_IDS),
    measuredLatencyMs: fc.option(fc.constantFrom(5, 9, 10, 45, 299, 300, 400), { nil: null }),
    reputation: fc.oneof(fc.constantFrom(0, 0.5, 0.5 + 1 / 128, 0.75, 1), fc.double({ min: 0, max: 1, noNaN: true })),
    online: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
  });
  const reqArb = fc.record<Requirements>({
    gpuCount: fc.integer({ min: 1, max: 8 }),
    minVramGb: fc.constantFrom(0, 40, 60, 80, 100),
    gpuModels: fc.option(fc.subarray(["H100", "A100", "V100"]), { nil: null }),
    region: fc.option(fc.constantFrom(...REGION_IDS), { nil: null }),
    maxLatencyMs: fc.option(fc.constantFrom(5, 10, 50, 100, 300), { nil: null }),
    minReputation: fc.option(fc.constantFrom(0, 0.5, 0.75, 0.9), { nil: null }),
    maxPriceWei: fc.option(fc.oneof(fc.constantFrom(0n, ONE, 2n * ONE), fc.bigInt({ min: 0n, max: 5n * ONE })), { nil: null }),
    redundancy: fc.integer({ min: 1, max: 4 }),
    strategy: fc.constantFrom<MatchStrategy>("BALANCED", "CHEAPEST", "FASTEST", "MOST_RELIABLE"),
    weights: fc.option(
      fc.record({ price: fc.constantFrom(0, 1, 2), latency: fc.constantFrom(0, 1), vram: fc.constantFrom(0, 1), reputation: fc.constantFrom(0, 1, 3) }).filter((w) => w.price + w.latency + w.vram + w.reputation > 0),
      { nil: null },
    ),
  });
  const opArb = fc.oneof(
    fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("upsert" as const), at: fc.nat(), row: rowArb }),
  );

  it("returns exactly what selectOffers returns, through upserts and removals", () => {
    fc.assert(
      fc.property(
        fc.array(rowArb, { maxLength: 60 }),
        fc.array(opArb, { maxLength: 20 }),
        fc.array(reqArb, { minLength: 1, maxLength: 4 }),
        fc.option(fc.subarray(["p1", "p2"]).map((a) => new Set(a)), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        fc.option(fc.integer({ min: 2, max: 5 }), { nil: undefined }),
        (rows, ops, reqs, excludeProviders, count, refuseEvery) => {
          const accept = refuseEvery === undefined ? undefined : (c: Candidate) => Number(c.offerId.slice(1)) % refuseEvery !== 0;
          const book = new Map<string, Candidate>();
          const index = new OfferIndex();
          const put = (c: Candidate) => {
            book.set(c.offerId, c);
            index.upsert(c);
          };
          rows.forEach((row, i) => put({ ...row, offerId: `o${i}`, nodeId: `n${i}` }));
          for (const op of ops) {
            const id = `o${op.at % Math.max(1, rows.length + 2)}`;
            if (op.kind === "remove") {
              book.delete(id);
              index.remove(id);
            } else {
              put({ ...op.row, offerId: id, nodeId: `n-${id}` });
            }
          }
          expect(index.size).toBe(book.size);
          for (const r of reqs) {
            const accepted = [...book.values()].filter((c) => accept === undefined || accept(c));
            expect(ids(index.best(r, { excludeProviders, count, accept }))).toEqual(ids(selectOffers(accepted, r, { excludeProviders, count })));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("matches selectOffers on larger books with many equal scores", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ordinal: fc.integer({ min: 0, max: 3 }),
            providerId: fc.constantFrom("p1", "p2", "p3"),
            priceWei: fc.constantFrom(ONE, 2n * ONE),
            region: fc.constantFrom("eu-west", "eu-central"),
            measuredLatencyMs: fc.option(fc.constantFrom(5, 15), { nil: null }),
            reputation: fc.constantFrom(0.5, 0.9),
          }),
          { minLength: 50, maxLength: 300 },
        ),
        reqArb,
        (rows, r) => {
          const book = rows.map((row, i) => offer(`o${i}`, row));
          expect(ids(indexOf(book).best(r))).toEqual(ids(selectOffers(book, r)));
        },
      ),
      { numRuns: 100 },
    );
  });
});
