import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, print, type OperationDefinitionNode } from "graphql";

/** The contract's operations (contract/, a copy of ../shared/contract kept equal by a test), by name. */
export const CONTRACT_DIR = join(__dirname, "..", "..", "contract");

/** The agent's own operations (the data plane's side of the agent), served by the same schema. */
export const AGENT_PROTOCOL = join(__dirname, "..", "..", "agent", "protocol.graphql");

export function contractOperations(): Map<string, { file: string; source: string; node: OperationDefinitionNode }> {
  const ops = new Map<string, { file: string; source: string; node: OperationDefinitionNode }>();
  const files = [...readdirSync(CONTRACT_DIR).filter((f) => f.endsWith(".graphql")).map((f) => join(CONTRACT_DIR, f)), AGENT_PROTOCOL];
  for (const file of files) {
    for (const def of parse(readFileSync(file, "utf8")).definitions) {
      if (def.kind === "OperationDefinition" && def.name) ops.set(def.name.value, { file, source: print(def), node: def });
    }
  }
  return ops;
}

const ALL = contractOperations();

/** The text of one contract operation, as clients send it. */
export function op(name: string): string {
  const found = ALL.get(name);
  if (!found) throw new Error(`no contract operation ${name}`);
  return found.source;
}

/** Contract operations the server implements so far; each must validate against schema.graphql and is exercised end to end. */
export const IMPLEMENTED_OPERATIONS = [
  "AuthChallenge",
  "SignIn",
  "CreateApiKey",
  "RevokeApiKey",
  "RegisterNode",
  "Heartbeat",
  "MyNodes",
  "PostOffer",
  "RepriceOffer",
  "CancelOffer",
  "Offers",
  "OrderBook",
  "Markets",
  "SuggestedPrice",
  "Trades",
  "Candles",
  "Quote",
  "SubmitJob",
  "Job",
  "MyJobs",
  "CancelJob",
  "AssignmentsForNode",
  "PendingAssignments",
  "StartAssignment",
  "ReportProgress",
  "CreateCheckpointUpload",
  "CompleteAssignment",
  "FailAssignment",
  "JobProgress",
  "Me",
  "IndexerStatus",
  "Account",
  "ChainEvents",
  "Settlements",
  "OrderBookUpdates",
  "TradeExecuted",
  "PublishSource",
  "Sources",
  "MarketTicker",
  "CreateInputUpload",
  "SubmitJobWithInputs",
  "JobOutputs",
  "JobLogs",
  "AssignmentInputs",
  "CreateOutputUpload",
  "AppendLogs",
] as const;
