import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, getNullableType, isListType, isObjectType, parse } from "graphql";
import { REGIONS } from "../../matching";
import { costRefusal } from "./limits";
import { listBounds } from "./list-bounds";
import { queryCost } from "./query-cost";

const schema = buildSchema(readFileSync(join(__dirname, "..", "..", "schema.graphql"), "utf8"));
const bounds = listBounds({ jobMaxInputs: 100, outputMaxFiles: 1000 });
const cost = (query: string, variables: Record<string, unknown> = {}) => queryCost(schema, parse(query), undefined, variables, bounds).cost;

describe("query cost", () => {
  it("every list field of the schema has a bound", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith("__")) continue;
      for (const field of Object.values(type.getFields())) {
        if (isListType(getNullableType(field.type)) && !bounds.has(`${type.name}.${field.name}`)) missing.push(`${type.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("counts each value a response can hold: a list at its bound times one plus its fields", () => {
    expect(cost(`{ __typename }`)).toBe(1);
    expect(cost(`{ regions { id name } }`)).toBe(REGIONS.length * 3);
    // a node of an offer: 1 + (1 + 16 GPU groups x (1 + 1))
    expect(cost(`{ offers(first: 3) { edges { node { node { id gpus { count } } } } } }`)).toBe(1 + 1 * (3 * (1 + (1 + (1 + 1 + 16 * 2)))));
    // the connection's default page is 20; totalCount and pageInfo are single values
    expect(cost(`{ offers { totalCount pageInfo { hasNextPage } edges { cursor } } }`)).toBe(1 + 1 + (1 + 1) + 20 * 2);
  });

  it("multiplies nested lists, counts every alias and fragment, and reads first from the variables", () => {
    const nested = `query Q($n: Int) { offers(first: $n) { edges { node { node { offers(first: 10) { node { offers(first: 5) { id } } } } } } } }`;
    const per = (n: number) => 1 + 1 * (n * (1 + (1 + (1 + 10 * (1 + (1 + 5 * 2))))));
    expect(cost(nested, { n: 2 })).toBe(per(2));
    expect(cost(nested, { n: 100 })).toBe(per(100));
    expect(cost(nested, {})).toBe(per(20));
    // past the most a page may hold, counted at the most (the service refuses it anyway)
    expect(cost(nested, { n: 5000 })).toBe(per(100));
    const aliased = `{ a: regions { id } b: regions { id } ...R ... on Query { regions { id } } } fragment R on Query { regions { id } }`;
    expect(cost(aliased)).toBe(4 * REGIONS.length * 2);
    // the order book's levels follow orderBook(depth)
    expect(cost(`{ orderBook(market: "H100-80GB", depth: 7) { asks { price } bids { price } } }`)).toBe(1 + 7 * 2 + 7 * 2);
  });

  it("costs a fragment once however often it is spread: a document that doubles at each level is costed at once", () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(" ");
    const query = `{ ...F0 } ${fragments} fragment F${levels} on Query { regions { id } }`;
    // without the memo this is 2^40 walks: the test would not end
    expect(cost(query)).toBe(2 ** levels * REGIONS.length * 2);
  });

  it("bounds introspection by the schema itself, so nesting it is costed too", () => {
    const types = Object.keys(schema.getTypeMap()).length;
    expect(cost(`{ __schema { types { name } } }`)).toBe(1 + types * 2);
    const nested = `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`;
    expect(cost(nested)).toBeGreaterThan(types * 20 ** 3);
  });

  it("refuses the amplification of offers within nodes within offers before anything runs, naming the cost and the limit", () => {
    const level3 = `offers(first: 100) { edges { node { node { offers { node { offers { node { offers { id market region } } } } } } } } }`;
    const query = `query Amplified { ${Array.from({ length: 15 }, (_, i) => `a${i}: ${level3}`).join(" ")} }`;
    const refusal = costRefusal(schema, parse(query), "Amplified", {}, { maxCost: 100_000, listBounds: bounds });
    expect(refusal?.extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(refusal?.message).toMatch(/its cost is \d\.\d\de\+\d+|its cost is \d+/);
    expect(refusal?.message).toContain("over the limit of 100000");
    expect(costRefusal(schema, parse(`{ regions { id } }`), undefined, {}, { maxCost: 100_000, listBounds: bounds })).toBeUndefined();
  });

  it("names as unbounded a list the bounds do not know, counting it high", () => {
    const result = queryCost(schema, parse(`{ regions { id } }`), undefined, {}, new Map(), 1000);
    expect(result).toEqual({ cost: 1000 * 2, unbounded: ["Query.regions"] });
  });
});
