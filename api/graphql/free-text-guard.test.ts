import "reflect-metadata";
import { graphql, buildSchema as buildSdl, getNullableType, isInputObjectType, type GraphQLSchema } from "graphql";
import { classifyError } from "../services/errors";
import { guardFreeText, TEXT_FIELDS } from "./free-text-guard";
import { createSchema } from "./schema";

/** A stand-in schema with the coordinates of the real one the policies name, and resolvers that echo what they were given. */
function echoSchema(): GraphQLSchema {
  const schema = buildSdl(`
    input GpuInput { model: String! count: Int! }
    input RegisterNodeInput { name: String! gpus: [GpuInput!]! agentVersion: String }
    input EnvVarInput { name: String! value: String! }
    input SubmitJobInput { image: String command: [String!] env: [EnvVarInput!] }
    input LogLineInput { line: String! }
    type Query { ok: Boolean }
    type Mutation {
      registerNode(input: RegisterNodeInput!): String
      submitJob(input: SubmitJobInput!): String
      failAssignment(assignmentId: ID!, reason: String!): String
      appendLogs(assignmentId: ID!, lines: [LogLineInput!]!): String
    }`);
  for (const field of Object.values(schema.getMutationType()!.getFields())) field.resolve = (_root, args) => JSON.stringify(args);
  return guardFreeText(schema);
}

async function run(source: string, variableValues: Record<string, unknown>) {
  const result = await graphql({ schema: echoSchema(), source, variableValues });
  const error = result.errors?.[0];
  return { data: result.data, code: error ? classifyError(error.originalError)?.code : undefined, message: error?.message };
}

describe("the free-text guard of mutations", () => {
  it("refuses a control or bidi character anywhere in a mutation's input, naming the field by its path, before the resolver runs", async () => {
    const bad = await run(`mutation($i: RegisterNodeInput!) { registerNode(input: $i) }`, { i: { name: "rig", gpus: [{ model: "H100", count: 1 }, { model: "H100\u202E", count: 1 }] } });
    expect(bad.code).toBe("BAD_USER_INPUT");
    expect(bad.message).toMatch(/^input\.gpus\[1\]\.model may not contain U\+202E/);
    expect(bad.data).toEqual({ registerNode: null });
    const ansi = await run(`mutation { registerNode(input: { name: "rig\\u001b[31m", gpus: [] }) }`, {});
    expect(ansi.message).toMatch(/^input\.name may not contain U\+001B/);
  });

  it("takes multi-line text where the policy says so, and lines elsewhere", async () => {
    const ok = await run(`mutation($i: SubmitJobInput!) { submitJob(input: $i) }`, { i: { image: "ghcr.io/x/y:1", command: ["python", "-c", "print(1)\nprint(2)"], env: [{ name: "PEM", value: "a\nb" }] } });
    expect(ok.code).toBeUndefined();
    expect(JSON.parse(ok.data!.submitJob as string).input.command[2]).toBe("print(1)\nprint(2)");
    const image = await run(`mutation($i: SubmitJobInput!) { submitJob(input: $i) }`, { i: { image: "ghcr.io/x/y:1\n" } });
    expect(image.message).toMatch(/^input\.image may not contain U\+000A/);
  });

  it("cleans a relayed failure reason instead of refusing it, and keeps log lines as written", async () => {
    const failed = await run(`mutation { failAssignment(assignmentId: "a", reason: "exit 1: \\u001b[31mboom") }`, {});
    expect(JSON.parse(failed.data!.failAssignment as string).reason).toBe("exit 1: \ufffd[31mboom");
    const logs = await run(`mutation($l: [LogLineInput!]!) { appendLogs(assignmentId: "a", lines: $l) }`, { l: [{ line: "\u001b[32mok\u001b[0m" }] });
    expect(JSON.parse(logs.data!.appendLogs as string).lines[0].line).toBe("\u001b[32mok\u001b[0m");
  });

  it("names only coordinates the real schema has", async () => {
    const schema = await createSchema();
    const mutation = schema.getMutationType()!.getFields();
    const known = (coordinate: string) => {
      const arg = /^Mutation\.(\w+)\((\w+)\)$/.exec(coordinate);
      if (arg) return mutation[arg[1]]?.args.some((a) => a.name === arg[2]) ?? false;
      const [type, field] = coordinate.split(".");
      const t = schema.getType(type);
      return isInputObjectType(t) && field in t.getFields() && getNullableType(t.getFields()[field].type) !== undefined;
    };
    expect(Object.keys(TEXT_FIELDS).filter((c) => !known(c))).toEqual([]);
  });
});
