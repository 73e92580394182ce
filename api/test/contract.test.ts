import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, validate } from "graphql";
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

  const shared = join(__dirname, "..", "..", "..", "shared", "contract");
  (existsSync(shared) ? it : it.skip)("the copy in contract/ equals ../shared/contract", () => {
    for (const file of readdirSync(shared)) {
      expect(readFileSync(join(CONTRACT_DIR, file), "utf8")).toBe(readFileSync(join(shared, file), "utf8"));
    }
  });
});
