import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
} from "graphql";

/**
 * How long a list field's list can be:
 * - `max`: a stated bound (the most items the field ever returns);
 * - `arg`: the value of an Int argument (`first`, `last`, `depth`), `default` when left out, at most `max` (the
 *   service refuses more); `of: "parent"` when the argument is the parent field's (a connection's `edges`: the
 *   `first` of the field that returned the connection).
 */
export type ListBound = { max: number; arg?: undefined } | { arg: string; default: number; max: number; of?: "self" | "parent" };

/** Bounds by schema coordinate, `Type.field`. */
export type ListBounds = ReadonlyMap<string, ListBound>;

/** What a query costs: an upper bound on the values its response holds. */
export interface QueryCost {
  cost: number;
  /** List fields met without a bound in `bounds` (counted at `unboundedAs`); a test keeps the schema free of them. */
  unbounded: string[];
}

interface Walk {
  schema: GraphQLSchema;
  bounds: ListBounds;
  introspection: ListBounds;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  unboundedAs: number;
  unbounded: Set<string>;
  memo: Map<string, WeakMap<object, number>>;
  visiting: Set<string>;
}

const NO_ARGS: Record<string, unknown> = Object.freeze({});

/**
 * The cost of one operation, computed from the document and the variables before anything executes:
 * cost(field) = n × (1 + Σ cost(subfields)), n = 1 for a single value and the list's bound for a list (nested
 * lists multiply), summed over every selection (aliases, fragments and both sides of @skip/@include counted). So
 * it bounds the number of values a response can hold, whatever the data. Fragments are costed once per parent
 * field, so spreading a fragment many times costs its size times the spreads, not more.
 */
export function queryCost(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Record<string, unknown> | null | undefined, bounds: ListBounds, unboundedAs = 1000): QueryCost {
  const operation = pickOperation(document, operationName);
  if (!operation) return { cost: 0, unbounded: [] };
  const root = rootType(schema, operation);
  if (!root) return { cost: 0, unbounded: [] };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  // variables that do not coerce fail the request before anything runs; arguments then count at their defaults
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  const walk: Walk = {
    schema,
    bounds,
    introspection: introspectionBounds(schema),
    fragments,
    variables: coerced.errors ? {} : coerced.coerced,
    unboundedAs,
    unbounded: new Set(),
    memo: new Map(),
    visiting: new Set(),
  };
  return { cost: selectionCost(walk, root, operation.selectionSet, NO_ARGS), unbounded: [...walk.unbounded] };
}

function pickOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (name) return operations.find((o) => o.name?.value === name);
  return operations.length === 1 ? operations[0] : undefined;
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode) {
  if (operation.operation === "query") return schema.getQueryType();
  if (operation.operation === "mutation") return schema.getMutationType();
  return schema.getSubscriptionType();
}

function selectionCost(walk: Walk, parent: GraphQLCompositeType, set: SelectionSetNode, parentArgs: Record<string, unknown>): number {
  let total = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) total += fieldCost(walk, parent, selection, parentArgs);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
      if (on && (isObjectType(on) || isAbstractType(on))) total += selectionCost(walk, on, selection.selectionSet, parentArgs);
    } else total += fragmentCost(walk, selection.name.value, parentArgs);
  }
  return total;
}

function fragmentCost(walk: Walk, name: string, parentArgs: Record<string, unknown>): number {
  const fragment = walk.fragments.get(name);
  if (!fragment || walk.visiting.has(name)) return 0; // unknown or cyclic: validation refuses it
  let byArgs = walk.memo.get(name);
  const known = byArgs?.get(parentArgs);
  if (known !== undefined) return known;
  const on = walk.schema.getType(fragment.typeCondition.name.value);
  if (!on || !(isObjectType(on) || isAbstractType(on))) return 0;
  walk.visiting.add(name);
  const cost = selectionCost(walk, on, fragment.selectionSet, parentArgs);
  walk.visiting.delete(name);
  if (!byArgs) walk.memo.set(name, (byArgs = new WeakMap()));
  byArgs.set(parentArgs, cost);
  return cost;
}

function fieldCost(walk: Walk, parent: GraphQLCompositeType, node: FieldNode, parentArgs: Record<string, unknown>): number {
  const name = node.name.value;
  if (name === "__typename") return 1;
  const def = fieldOf(walk.schema, parent, name);
  if (!def) return 0; // validation refuses unknown fields
  const args = argumentsOf(def, node, walk.variables);
  const coordinate = `${parent.name}.${name}`;
  const items = listSize(walk, coordinate, def.type, args, parentArgs);
  const named = getNamedType(def.type);
  const inner = node.selectionSet && (isObjectType(named) || isAbstractType(named)) ? selectionCost(walk, named, node.selectionSet, args) : 0;
  return items * (1 + inner);
}

function fieldOf(schema: GraphQLSchema, parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === SchemaMetaFieldDef.name || name === TypeMetaFieldDef.name) return schema.getQueryType() === parent ? (name === "__schema" ? SchemaMetaFieldDef : TypeMetaFieldDef) : undefined;
  if (isObjectType(parent) || isInterfaceType(parent)) return parent.getFields()[name];
  return undefined;
}

function argumentsOf(def: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  if (!node.arguments?.length && def.args.every((a) => a.defaultValue === undefined)) return NO_ARGS;
  try {
    return getArgumentValues(def, node, variables);
  } catch {
    return NO_ARGS; // a bad argument fails the request; bounds then count at their maximum
  }
}

function listSize(walk: Walk, coordinate: string, type: GraphQLOutputType, args: Record<string, unknown>, parentArgs: Record<string, unknown>): number {
  let levels = 0;
  for (let t = getNullableType(type); isListType(t); t = getNullableType(t.ofType)) levels++;
  if (levels === 0) return 1;
  const bound = walk.bounds.get(coordinate) ?? walk.introspection.get(coordinate);
  let n: number;
  if (!bound) {
    walk.unbounded.add(coordinate);
    n = walk.unboundedAs;
  } else if (bound.arg !== undefined) {
    const given = (bound.of === "parent" ? parentArgs : args)[bound.arg];
    n = typeof given === "number" && Number.isFinite(given) ? Math.max(0, Math.min(Math.floor(given), bound.max)) : given === undefined || given === null ? bound.default : bound.max;
  } else n = bound.max;
  return n ** levels;
}

const introspectionCache = new WeakMap<GraphQLSchema, ListBounds>();

/**
 * Bounds of the introspection types' lists, from the schema itself (the most types, fields, arguments, enum values,
 * input fields, interfaces and possible types any one type has), so nesting introspection costs what it can return.
 */
export function introspectionBounds(schema: GraphQLSchema): ListBounds {
  const cached = introspectionCache.get(schema);
  if (cached) return cached;
  const types = Object.values(schema.getTypeMap());
  let fields = 0;
  let args = 0;
  let interfaces = 0;
  let possible = 0;
  let values = 0;
  let inputs = 0;
  for (const t of types) {
    if (isObjectType(t) || isInterfaceType(t)) {
      const fs = Object.values(t.getFields());
      fields = Math.max(fields, fs.length);
      for (const f of fs) args = Math.max(args, f.args.length);
      interfaces = Math.max(interfaces, t.getInterfaces().length);
    }
    if (isAbstractType(t)) possible = Math.max(possible, schema.getPossibleTypes(t).length);
    if (isEnumType(t)) values = Math.max(values, t.getValues().length);
    if (isInputObjectType(t)) inputs = Math.max(inputs, Object.keys(t.getFields()).length);
  }
  const directives = schema.getDirectives();
  let directiveArgs = 0;
  let locations = 0;
  for (const d of directives) {
    directiveArgs = Math.max(directiveArgs, d.args.length);
    locations = Math.max(locations, d.locations.length);
  }
  const bounds: ListBounds = new Map<string, ListBound>([
    ["__Schema.types", { max: types.length }],
    ["__Schema.directives", { max: directives.length }],
    ["__Type.fields", { max: fields }],
    ["__Type.interfaces", { max: interfaces }],
    ["__Type.possibleTypes", { max: possible }],
    ["__Type.enumValues", { max: values }],
    ["__Type.inputFields", { max: inputs }],
    ["__Field.args", { max: args }],
    ["__Directive.args", { max: directiveArgs }],
    ["__Directive.locations", { max: locations }],
  ]);
  introspectionCache.set(schema, bounds);
  return bounds;
}
