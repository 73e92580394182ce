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

/**
 * Reads every `*.graphql` file of the contract folder and indexes its named operations. An operation's text is
 * the source slice of its definition, followed by the fragments of the same file it spreads.
 */
export function loadContract(contractDir: string = findContractDir()): OperationSource {
  const operations = new Map<string, ContractOperation>();
  for (const file of readdirSync(contractDir).filter((f) => f.endsWith(".graphql")).sort()) {
    const body = readFileSync(path.join(contractDir, file), "utf8");
    const doc = parse(body);
    const fragments = new Map<string, string>();
    for (const def of doc.definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION && def.loc) fragments.set(def.name.value, body.slice(def.loc.start, def.loc.end));
    }
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION || !def.name || !def.loc) continue;
      const text = withFragments(body.slice(def.loc.start, def.loc.end), fragments);
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
