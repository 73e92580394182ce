import { findContractDir, loadContract } from "./contract";

const USED = [
  "RegisterNode", "Heartbeat", "MyNodes", "PostOffer", "RepriceOffer", "CancelOffer", "SuggestedPrice",
  "AssignmentsForNode", "PendingAssignments", "StartAssignment", "ReportProgress", "CreateCheckpointUpload",
  "CompleteAssignment", "FailAssignment",
];

describe("contract", () => {
  const ops = loadContract(findContractDir(__dirname));

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
});
