import { parse, Kind, type FragmentDefinitionNode, type FieldNode, type OperationDefinitionNode } from "graphql";
import { selectsField } from "./selection";

function infoOf(source: string) {
  const doc = parse(source);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  return { fieldNodes: [op.selectionSet.selections[0] as FieldNode], fragments };
}

describe("selectsField", () => {
  it("finds a direct child field", () => {
    expect(selectsField(infoOf("{ offers { edges { cursor } totalCount } }"), "totalCount")).toBe(true);
  });
  it("does not find a field that is not asked for, nor one deeper down", () => {
    expect(selectsField(infoOf("{ offers { edges { cursor } pageInfo { hasNextPage } } }"), "totalCount")).toBe(false);
    expect(selectsField(infoOf("{ offers { edges { node { totalCount: id } } } }"), "totalCount")).toBe(false);
  });
  it("looks through inline and named fragments, including a fragment that spreads itself", () => {
    expect(selectsField(infoOf("{ offers { ... on OfferConnection { totalCount } } }"), "totalCount")).toBe(true);
    expect(selectsField(infoOf("query { offers { ...F } } fragment F on OfferConnection { totalCount }"), "totalCount")).toBe(true);
    expect(selectsField(infoOf("query { offers { ...F } } fragment F on OfferConnection { edges { cursor } ...F }"), "totalCount")).toBe(false);
  });
  it("counts an aliased field by its name", () => {
    expect(selectsField(infoOf("{ offers { n: totalCount } }"), "totalCount")).toBe(true);
  });
});
