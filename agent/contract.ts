import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse } from "graphql";

/** One operation of `contract/*.graphql`, with its text exactly as written there. */
export interface ContractOperation {
  name: string;
  kind: "query" | "mutation" | "subscription";
  text: string;
}

/** Looks an operation up by name; throws when the contract has no such operation. */
export type OperationSource = (name: string) => ContractOperation;

/**
 * Finds the repository's `contract/` folder by walking up from `startDir` (agent/ under jest and ts-node,
 * dist/agent/ once compiled) until a `contract/agent.graphql` exists.
 */
export function findContractDir(startDir: string = __dirname): string {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, "contract");
    if (existsSync(path.join(candidate, "agent.graphql"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no contract/agent.graphql found above ${startDir}`);
    dir = parent;
  }
}

/** The agent's own operations (the data plane: inputs, outputs, logs), kept beside its sources. */
export const PROTOCOL_FILE = "protocol.graphql";

/**
 * Finds `protocol.graphql`: beside `startDir` (agent/ under jest and ts-node, or dist/agent/ when the build copied
 * it there), else in the source tree's `agent/` folder found by walking up from `startDir` (dist/agent/ -> agent/).
 */
export function findProtocolFile(startDir: string = __dirname): string {
  let dir = path.resolve(startDir);
  const beside = path.join(dir, PROTOCOL_FILE);
  if (existsSync(beside)) return beside;
  for (;;) {
    const candidate = path.join(dir, "agent", PROTOCOL_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no ${PROTOCOL_FILE} found beside or above ${startDir}`);
    dir = parent;
  }
}

/**
 * Reads every `*.graphql` file of the contract folder and the agent's `protocol.graphql`, and indexes their named
 * operations. An operation's text is the source slice of its definition, followed by the fragments of the same
 * file it spreads. A name defined twice is an error.
 */
export function loadContract(contractDir: string = findContractDir(), protocolFile: string | null = findProtocolFile()): OperationSource {
  const operations = new Map<string, ContractOperation>();
  const files = readdirSync(contractDir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => path.join(contractDir, f));
  if (protocolFile !== null) files.push(protocolFile);
  for (const file of files) {
    const body = readFileSync(file, "utf8");
    const doc = parse(body);
    const fragments = new Map<string, string>();
    for (const def of doc.definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION && def.loc) fragments.set(def.name.value, body.slice(def.loc.start, def.loc.end));
    }
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION || !def.name || !def.loc) continue;
      const text = withFragments(body.slice(def.loc.start, def.loc.end), fragments);
      if (operations.has(def.name.value)) throw new Error(`the operation ${def.name.value} is defined twice (again in ${path.basename(file)})`);
      operations.set(def.name.value, { name: def.name.value, kind: def.operation, text });
    }
  }
  return (name) => {
    const op = operations.get(name);
    if (!op) throw new Error(`the contract has no operation named ${name}`);
    return op;
  };
}

function withFragments(text: string, fragments: Map<string, string>): string {
  const included = new Set<string>();
  const parts = [text];
  for (let i = 0; i < parts.length; i++) {
    for (const match of parts[i].matchAll(/\.\.\.\s*([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const fragment = fragments.get(match[1]);
      if (fragment && !included.has(match[1])) {
        included.add(match[1]);
        parts.push(fragment);
      }
    }
  }
  return parts.join("\n\n");
}
