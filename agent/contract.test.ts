import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { findContractDir, findProtocolFile, loadContract } from "./contract";

const USED = [
  "RegisterNode", "Heartbeat", "MyNodes", "PostOffer", "RepriceOffer", "CancelOffer", "SuggestedPrice",
  "AssignmentsForNode", "PendingAssignments", "StartAssignment", "ReportProgress", "ReserveCheckpoint",
  "CompleteAssignment", "FailAssignment", "AssignmentInputs", "CreateOutputUpload", "AppendLogs",
];

describe("contract", () => {
  const ops = loadContract(findContractDir(__dirname), findProtocolFile(__dirname));

  it.each(USED)("has %s", (name) => {
    const op = ops(name);
    expect(op.text).toMatch(new RegExp(`^(query|mutation|subscription) ${name}\\b`));
  });

  it("keeps the operation text as written", () => {
    expect(ops("CancelOffer").text).toBe("mutation CancelOffer($id: ID!) {\n  cancelOffer(id: $id) { id status }\n}");
    expect(ops("AssignmentsForNode").kind).toBe("subscription");
  });

  it("throws on an unknown name", () => {
    expect(() => ops("NoSuchThing")).toThrow(/NoSuchThing/);
  });

  it("finds protocol.graphql beside the sources and, from dist/agent/, in the source tree", async () => {
    expect(findProtocolFile(__dirname)).toBe(path.join(__dirname, "protocol.graphql"));
    expect(findProtocolFile(path.join(__dirname, "..", "dist", "agent"))).toBe(path.join(__dirname, "protocol.graphql"));
    const dir = await mkdtemp(path.join(os.tmpdir(), "gx-contract-"));
    try {
      await writeFile(path.join(dir, "protocol.graphql"), "query X { x }");
      expect(findProtocolFile(dir)).toBe(path.join(dir, "protocol.graphql"));
      expect(() => findProtocolFile(os.tmpdir() === "/" ? "/" : path.parse(dir).root)).toThrow(/protocol.graphql/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses an operation defined twice", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gx-contract-"));
    try {
      await writeFile(path.join(dir, "agent.graphql"), "query A { a }");
      await writeFile(path.join(dir, "protocol.gql"), "query A { b }");
      expect(() => loadContract(dir, path.join(dir, "protocol.gql"))).toThrow(/A is defined twice \(again in protocol.gql\)/);
      expect(loadContract(dir, null)("A").text).toBe("query A { a }");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
