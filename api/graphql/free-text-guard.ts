import { getNullableType, isInputObjectType, isListType, isScalarType, type GraphQLFieldResolver, type GraphQLInputType, type GraphQLSchema } from "graphql";
import { checkFreeText, cleanFreeText } from "../services/free-text";

/**
 * How a mutation's text is taken, by coordinate (`Input.field`, or `Mutation.field(argument)`); every other String
 * or ID a mutation takes is a `line` (services/free-text.ts), refused with BAD_USER_INPUT naming it.
 * - `text`: multi-line text, refused likewise (tabs and line breaks allowed);
 * - `relayed`: what an agent relays from its workload (a failure's stderr, a progress line): cleaned, each refused
 *   character replaced by U+FFFD, never refused (refusing it would lose the work's report and its lease);
 * - `verbatim`: the workload's own bytes, kept as written: log lines, and output file names (the artifact rules,
 *   shared with the agent, already refuse control characters in those).
 */
export const TEXT_FIELDS: Readonly<Record<string, "text" | "relayed" | "verbatim">> = {
  "SubmitJobInput.command": "text",
  "PublishSourceInput.command": "text",
  "PublishSourceInput.description": "text",
  "EnvVarInput.value": "text",
  "Mutation.signIn(message)": "text",
  "Mutation.failAssignment(reason)": "relayed",
  "Mutation.reportProgress(message)": "relayed",
  "LogLineInput.line": "verbatim",
  "Mutation.createOutputUpload(name)": "verbatim",
};

const TEXT_SCALARS = new Set(["String", "ID"]);

/** `value` of `type` with its text checked (or cleaned) by the policy of `coordinate`; `path` names it in a refusal. */
function guarded(value: unknown, type: GraphQLInputType, coordinate: string, path: string): unknown {
  if (value === null || value === undefined) return value;
  const t = getNullableType(type);
  if (isListType(t)) return Array.isArray(value) ? value.map((v, i) => guarded(v, t.ofType, coordinate, `${path}[${i}]`)) : guarded(value, t.ofType, coordinate, path);
  if (isInputObjectType(t)) {
    const fields = t.getFields();
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) out[name] = fields[name] ? guarded(v, fields[name].type, `${t.name}.${name}`, `${path}.${name}`) : v;
    return out;
  }
  if (!isScalarType(t) || !TEXT_SCALARS.has(t.name) || typeof value !== "string") return value;
  const policy = TEXT_FIELDS[coordinate] ?? "line";
  if (policy === "verbatim") return value;
  if (policy === "relayed") return cleanFreeText(value, "text");
  checkFreeText(path, value, policy);
  return value;
}

/**
 * Puts the free-text rule in front of every mutation of `schema`: each String and ID argument, at any depth of its
 * input objects and lists, is checked (or cleaned) by {@link TEXT_FIELDS} before the resolver runs, so no stored
 * name, label or description holds control, bidi or invisible formatting characters, over HTTP and WebSocket alike.
 */
export function guardFreeText(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  if (!mutation) return schema;
  for (const field of Object.values(mutation.getFields())) {
    const resolve: GraphQLFieldResolver<unknown, unknown> | undefined = field.resolve;
    if (!resolve) continue;
    const args = field.args;
    field.resolve = (root, given, context, info) => {
      const checked: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(given)) {
        const def = args.find((a) => a.name === name);
        checked[name] = def ? guarded(value, def.type, `Mutation.${field.name}(${name})`, name) : value;
      }
      return resolve(root, checked, context, info);
    };
  }
  return schema;
}
