/**
 * Compiles contracts/src with solc from npm (standard JSON, optimizer 200 runs, evmVersion cancun) and
 * writes contracts/abi/<Name>.json (the ABI) and contracts/artifacts/<Name>.json ({ contractName, abi,
 * bytecode }). Same sources, same bytes.
 *
 *   node -r @swc-node/register contracts/compile.ts           write the files
 *   node -r @swc-node/register contracts/compile.ts --check   exit 1 when the committed files are stale
 */
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import solc from "solc";

export const CONTRACT_NAMES = ["OGPUToken", "Escrow", "Staking"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: false,
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
} as const;

interface SolcError {
  severity: "error" | "warning" | "info";
  formattedMessage: string;
}
interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/** The folder holding src/, abi/ and artifacts/, whether this runs from source or from dist/. */
export function contractsDir(): string {
  const candidates = [__dirname, path.resolve(__dirname, "..", "..", "contracts")];
  const found = candidates.find((dir) => existsSync(path.join(dir, "src", "Escrow.sol")));
  if (found === undefined) throw new Error(`contracts/src not found from ${__dirname}`);
  return found;
}

function resolveImport(importPath: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(importPath), "utf8") };
  } catch (err) {
    return { error: `cannot resolve ${importPath}: ${(err as Error).message}` };
  }
}

/** Recursively sorts object keys so JSON.stringify is stable; arrays keep their order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

export interface CompileResult {
  /** Path relative to contracts/ (e.g. "abi/Escrow.json") to file content. */
  files: Map<string, string>;
  warnings: string[];
}

/** Compiles every .sol file in contracts/src; throws on any compiler error. */
export function compileContracts(dir = contractsDir()): CompileResult {
  const srcDir = path.join(dir, "src");
  const sources: Record<string, { content: string }> = {};
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
    sources[`src/${file}`] = { content: readFileSync(path.join(srcDir, file), "utf8") };
  }
  const input = { language: "Solidity", sources, settings: SOLC_SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: resolveImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const warnings = (output.errors ?? []).filter((e) => e.severity === "warning").map((e) => e.formattedMessage);

  const files = new Map<string, string>();
  for (const name of CONTRACT_NAMES) {
    const compiled = output.contracts?.[`src/${name}.sol`]?.[name];
    if (compiled === undefined) throw new Error(`solc produced no ${name}`);
    const abi = compiled.abi;
    files.set(`abi/${name}.json`, stableJson(abi));
    files.set(`artifacts/${name}.json`, stableJson({ contractName: name, abi, bytecode: `0x${compiled.evm.bytecode.object}` }));
  }
  return { files, warnings };
}

/** The generated files whose committed content differs from `files` (missing ones included). */
export function staleFiles(files: Map<string, string>, dir = contractsDir()): string[] {
  const stale: string[] = [];
  for (const [rel, content] of files) {
    const target = path.join(dir, rel);
    if (!existsSync(target) || readFileSync(target, "utf8") !== content) stale.push(rel);
  }
  return stale;
}

function main(argv: string[]): number {
  const check = argv.includes("--check");
  const dir = contractsDir();
  const { files, warnings } = compileContracts(dir);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  if (check) {
    const stale = staleFiles(files, dir);
    if (stale.length > 0) {
      process.stderr.write(
        `contracts: stale generated files (run npm run contracts:compile):\n${stale.map((f) => `  contracts/${f}\n`).join("")}`,
      );
      return 1;
    }
    process.stdout.write(`contracts: ${files.size} generated files are up to date\n`);
    return 0;
  }
  for (const [rel, content] of files) {
    const target = path.join(dir, rel);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  process.stdout.write(`contracts: wrote ${[...files.keys()].map((f) => `contracts/${f}`).join(", ")}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
