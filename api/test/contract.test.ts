import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, getNullableType, getVariableValues, isEnumType, isInputObjectType, isListType, isNonNullType, typeFromAST, validate, type GraphQLInputType, type OperationDefinitionNode } from "graphql";
import { loadConfig } from "../config";
import { listBounds } from "../graphql/list-bounds";
import { queryCost } from "../graphql/query-cost";
import { PAGE_MAX } from "../services/paging";
import { MAX_BOOK_DEPTH } from "../services/market.service";
import { MAX_LOG_LINES_READ } from "../services/log.service";
import { CONTRACT_DIR, contractOperations, IMPLEMENTED_OPERATIONS } from "./contract";

const schema = buildSchema(readFileSync(join(__dirname, "..", "..", "schema.graphql"), "utf8"));
const operations = contractOperations();

describe("the API contract", () => {
  it.each(IMPLEMENTED_OPERATIONS)("%s validates against schema.graphql", (name) => {
    const operation = operations.get(name);
    expect(operation).toBeDefined();
    const errors = validate(schema, { kind: "Document" as never, definitions: [operation!.node] });
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  // the defaults, with each page, book depth and log read at its largest
  const config = loadConfig({});
  const bounds = listBounds({ jobMaxInputs: config.JOB_MAX_INPUTS, outputMaxFiles: config.OUTPUT_MAX_FILES });
  const largest: Record<string, number> = { first: PAGE_MAX, depth: MAX_BOOK_DEPTH, last: MAX_LOG_LINES_READ };
  it.each(IMPLEMENTED_OPERATIONS)("%s costs at most GRAPHQL_MAX_COST's default, with its pages at their largest", (name) => {
    const operation = operations.get(name)!.node;
    const variables = typicalVariables(operation, largest);
    expect(getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors).toBeUndefined();
    const { cost, unbounded } = queryCost(schema, { kind: "Document" as never, definitions: [operation] }, name, variables, bounds);
    expect(unbounded).toEqual([]);
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThanOrEqual(config.GRAPHQL_MAX_COST);
  });

  const shared = join(__dirname, "..", "..", "..", "shared", "contract");
  (existsSync(shared) ? it : it.skip)("the copy in contract/ equals ../shared/contract", () => {
    for (const file of readdirSync(shared)) {
      expect(readFileSync(join(CONTRACT_DIR, file), "utf8")).toBe(readFileSync(join(shared, file), "utf8"));
    }
  });
});

/** Variables an operation accepts (so they coerce): each required one a plain value of its type, the named ones at `given`. */
function typicalVariables(operation: OperationDefinitionNode, given: Record<string, number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    const type = typeFromAST(schema, def.type as never) as GraphQLInputType;
    if (name in given) out[name] = given[name];
    else if (isNonNullType(type)) out[name] = valueOf(type);
  }
  return out;
}

function valueOf(type: GraphQLInputType): unknown {
  const t = getNullableType(type);
  if (isListType(t)) return [valueOf(t.ofType)];
  if (isEnumType(t)) return t.getValues()[0].value;
  if (isInputObjectType(t)) {
    return Object.fromEntries(Object.values(t.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => [f.name, valueOf(f.type)]));
  }
  const scalars: Record<string, unknown> = { Int: 1, Float: 0.5, Boolean: true, DateTimeISO: "2026-01-01T00:00:00.000Z", JSONObject: {} };
  return scalars[t.name] ?? "1";
}
